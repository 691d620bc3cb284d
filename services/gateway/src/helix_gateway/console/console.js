// Helix review console: vanilla JavaScript over the gateway's API, with the caller's bearer token.
// Every action has a key; the next two items of the queue are fetched ahead so a reviewer never waits.
"use strict";

const $ = (id) => document.getElementById(id);
// `?prefetch=0` turns the look-ahead off (the benchmark's baseline: a console that fetches on demand).
const PREFETCH = new URLSearchParams(location.search).get("prefetch") !== "0";
const state = {
  token: sessionStorage.getItem("helix-token") || "",
  me: null,
  view: "queue",
  queue: [],          // the queue as last loaded (highest risk first)
  current: null,      // the ConsoleItem on screen (claimed)
  second: null,       // the second review on screen
  cache: new Map(),   // item_id -> Promise<{item: ConsoleItem, blobs: {url: objectURL}}>
  zoom: 1,
  wipe: 50,
  showDiff: false,
  busy: false,
};

// --- the API -------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${state.token}`, ...(options.body ? { "Content-Type": "application/json" } : {}) };
  const response = await fetch(path, { ...options, headers: { ...headers, ...(options.headers || {}) } });
  if (response.status === 204) return null;
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try { detail = (await response.json()).detail || detail; } catch (_) { /* not JSON */ }
    throw new ApiError(response.status, detail);
  }
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response.blob();
}

const post = (path, body) => api(path, { method: "POST", body: JSON.stringify(body || {}) });

function say(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.style.background = isError ? "#a4161a" : "";
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

// What the listening QC heard: each flagged line beside its text, with a button that plays
// just that line's segment of the track.
function listeningTable(listening, player) {
  const caption = `Heard by ${listening.model.id}: ${listening.lines} lines, median word error rate ${listening.median_wer.toFixed(2)}, ` +
    `${listening.flagged.length} over ${listening.wer_limit}`;
  const table = el("table", { class: "listening" }, el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, ...["", "line", "at", "should say", "was heard", "WER"].map((h) => el("th", { text: h })))));
  const body = el("tbody");
  for (const line of listening.flagged) {
    const play = el("button", { text: "▶", "aria-label": `Play line ${line.line_id}`, onclick: () => {
      player.currentTime = line.start;
      const stop = () => { if (player.currentTime >= line.end) { player.pause(); player.removeEventListener("timeupdate", stop); } };
      player.addEventListener("timeupdate", stop);
      player.play();
    } });
    body.append(el("tr", {}, el("td", {}, play), el("td", { text: line.line_id }),
      el("td", { class: "num", text: `${line.start.toFixed(1)}–${line.end.toFixed(1)} s` }), el("td", { text: line.text }),
      el("td", { text: line.transcript }), el("td", { class: "num", text: line.wer.toFixed(2) })));
  }
  table.append(body);
  return table;
}

// --- signing in ------------------------------------------------------------------------------

async function signIn(token) {
  state.token = token.trim();
  try {
    state.me = await api("/console/me");
  } catch (error) {
    $("signin-error").textContent = `Sign-in refused: ${error.message}`;
    state.token = "";
    return;
  }
  sessionStorage.setItem("helix-token", state.token);
  $("signin").hidden = true;
  $("main").hidden = false;
  $("nav").hidden = false;
  $("signout").hidden = false;
  const me = state.me;
  $("who").textContent = `${me.subject} (${me.roles.join(", ")})`;
  for (const button of document.querySelectorAll("#nav [data-view]")) {
    const allowed = { queue: me.can_review, second: me.can_review, dashboard: me.can_see_dashboard, consents: me.can_review,
      cast: true }[button.dataset.view];
    button.hidden = !allowed;
  }
  $("consent-form").hidden = !me.can_manage_consents;
  if (me.can_review) {
    await show("queue");
  } else {
    $("actions").remove();  // no review actions at all for this role
    say(`Signed in as ${me.roles.join(", ")}: the review actions are for reviewers.`);
    if (me.can_see_dashboard) await show("dashboard");
  }
  document.body.dataset.ready = "true";  // the first view is on screen (tests and scripts wait for this)
}

function signOut() {
  sessionStorage.removeItem("helix-token");
  location.reload();
}

// --- views -----------------------------------------------------------------------------------

async function show(view) {
  const me = state.me;
  if (!me) return;
  if ((view === "queue" || view === "second" || view === "consents") && !me.can_review) return;
  if (view === "dashboard" && !me.can_see_dashboard) return;
  state.view = view;
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${view}`;
  for (const button of document.querySelectorAll("#nav [data-view]")) {
    if (button.dataset.view === view) button.setAttribute("aria-current", "page"); else button.removeAttribute("aria-current");
  }
  if (view === "queue") { await loadQueue(); if (!state.current) await next(); }
  if (view === "second") await claimSecond();
  if (view === "dashboard") await loadDashboard();
  if (view === "consents") await loadConsents();
  if (view === "cast") await loadCast();
}

// --- the queue -------------------------------------------------------------------------------

function filtered() {
  const production = $("f-production").value, kind = $("f-kind").value, finding = $("f-finding").value;
  const age = Number($("f-age").value), now = Date.now();
  return state.queue.filter((item) =>
    (!production || item.asset.production_id === production) &&
    (!kind || item.asset.kind === kind) &&
    (!finding || (finding === "none" ? !item.findings.some((f) => f.open) : item.findings.some((f) => f.open && f.check === finding))) &&
    (!age || now - Date.parse(item.created_at) >= age * 1000) &&
    (!item.claimed_by || item.claimed_by === state.me.subject));
}

function fillSelect(select, values) {
  const chosen = select.value;
  for (const option of [...select.options].slice(select.id === "f-finding" ? 2 : 1)) option.remove();
  for (const value of [...values].sort()) select.append(el("option", { value, text: value }));
  select.value = [...select.options].some((o) => o.value === chosen) ? chosen : select.options[0].value;
}

async function loadQueue() {
  const items = [];
  let cursor = null;
  do {  // the whole queue, page by page (the API caps a page at 200)
    const page = await api(`/reviews/queue?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < 2000);
  state.queue = items;
  fillSelect($("f-production"), new Set(items.map((i) => i.asset.production_id)));
  fillSelect($("f-kind"), new Set(items.map((i) => i.asset.kind)));
  fillSelect($("f-finding"), new Set(items.flatMap((i) => i.findings.filter((f) => f.open).map((f) => f.check))));
  renderQueue();
}

function renderQueue() {
  const list = $("queue-list");
  const items = filtered();
  $("queue-count").textContent = `(${items.length})`;
  list.replaceChildren(...items.slice(0, 200).map((item) => {
    const flags = item.findings.filter((f) => f.open).map((f) => f.check).join(", ");
    return el("li", { class: state.current && state.current.item.item_id === item.item_id ? "current" : "", "data-item": item.item_id },
      el("span", { class: "risk", text: `risk ${Math.round(item.risk_score)}` }),
      `${item.asset.kind}: ${item.asset.asset_id} v${item.asset.version}`, flags ? el("br") : "", flags ? `⚑ ${flags}` : "");
  }));
}

function upcoming(count) {
  const currentId = state.current && state.current.item.item_id;
  return filtered().filter((i) => i.item_id !== currentId).slice(0, count);
}

// A view and its media, fetched once; the promise is cached so a prefetch and a show share it.
function load(itemId) {
  if (!state.cache.has(itemId)) {
    const promise = (async () => {
      const item = await api(`/console/items/${itemId}`);
      const urls = [item.content_url, item.previous_url, item.subtitles_url, ...item.sheet.map((f) => f.content_url)].filter(Boolean);
      const needsBytes = ["image", "texture", "audio", "video"].includes(item.view);
      const blobs = {};
      if (needsBytes) {
        await Promise.all(urls.map(async (url) => { blobs[url] = URL.createObjectURL(await api(url)); }));
      }
      return { item, blobs };
    })();
    promise.catch(() => state.cache.delete(itemId));
    state.cache.set(itemId, promise);
  }
  return state.cache.get(itemId);
}

function prefetch() {
  if (!PREFETCH) return;
  for (const item of upcoming(2)) load(item.item_id);
}

async function next() {
  // Claim the first item of the filtered queue (or the top one when the filters leave nothing).
  for (let attempt = 0; attempt < 3; attempt++) {
    const [first] = upcoming(1);
    let claimed;
    try {
      claimed = await post("/reviews/claim", { lease_seconds: 600, ...(first ? { item_id: first.item_id } : {}) });
    } catch (error) { say(`Could not claim: ${error.message}`, true); return; }
    if (!claimed) {
      if (first) { state.queue = state.queue.filter((i) => i.item_id !== first.item_id); continue; }  // taken meanwhile
      state.current = null;
      renderEmpty();
      return;
    }
    await open(claimed.item_id);
    return;
  }
  await loadQueue();
}

function renderEmpty() {
  $("item-title").textContent = "The queue is empty";
  $("item-meta").textContent = "Nothing waits for you. New items appear here as generators deliver them.";
  $("actions").hidden = true;
  $("tools").replaceChildren();
  $("content").replaceChildren();
  $("panel").replaceChildren();
  renderQueue();
  say("Queue empty.");
}

async function open(itemId) {
  let loaded;
  try { loaded = await load(itemId); } catch (error) { say(`Could not open ${itemId}: ${error.message}`, true); return; }
  state.current = loaded.item;
  state.current.blobs = loaded.blobs;
  state.zoom = 1;
  state.showDiff = false;
  state.wipe = 50;
  renderItem();
  renderQueue();
  prefetch();
  $("item").focus();
}

// --- one item --------------------------------------------------------------------------------

function renderItem() {
  const current = state.current;
  const { item } = current;
  const asset = item.asset;
  $("item-title").textContent = `${asset.kind}: ${asset.asset_id} (version ${asset.version})`;
  $("item-meta").textContent = `${asset.production_id} · ${asset.media_type} · risk ${Math.round(item.risk_score)}` +
    (item.requested_by ? ` · requested by ${item.requested_by}` : "");
  $("actions").hidden = false;
  renderTools(current);
  renderContent(current);
  renderPanel(current);
}

function renderTools(current) {
  const tools = [];
  if (current.view === "image" || current.view === "texture") {
    tools.push(el("button", { type: "button", "aria-pressed": String(state.zoom > 1), onclick: () => zoom(state.zoom > 1 ? 1 : 2) },
      "Zoom ", el("kbd", { text: "z" })));
  }
  if (current.previous_url && (current.view === "image" || current.view === "texture")) {
    tools.push(el("span", { text: `Wipe against version ${current.previous_version}: ` }), el("kbd", { text: "[" }), " ", el("kbd", { text: "]" }));
  }
  if (current.view === "text" && current.diff !== null && current.diff !== undefined) {
    tools.push(el("button", { type: "button", "aria-pressed": String(state.showDiff), onclick: toggleDiff },
      `Diff against version ${current.previous_version} `, el("kbd", { text: "d" })));
  }
  $("tools").replaceChildren(...tools);
}

function image(src, alt) {
  return el("img", { src, alt });
}

function renderContent(current, content = $("content")) {
  const src = current.blobs[current.content_url];
  const alt = `${current.item.asset.kind} ${current.item.asset.asset_id}`;
  const parts = [];
  if (current.view === "image" || current.view === "texture") {
    if (current.previous_url && current.blobs[current.previous_url]) {
      const wipe = el("div", { class: "wipe", role: "img", "aria-label": `Wipe: version ${current.previous_version} left, this version right of ${state.wipe}%` },
        image(current.blobs[current.previous_url], `version ${current.previous_version}`));
      const after = el("div", { class: "after" }, image(src, alt));
      after.style.clipPath = `inset(0 0 0 ${state.wipe}%)`;
      wipe.append(after);
      const slider = el("input", { type: "range", min: "0", max: "100", value: String(state.wipe), "aria-label": "Wipe position",
        oninput: (e) => { state.wipe = Number(e.target.value); after.style.clipPath = `inset(0 0 0 ${state.wipe}%)`; } });
      parts.push(wipe, slider);
    } else {
      const stage = el("div", { class: "stage" }, image(src, alt));
      stage.firstChild.style.transform = `scale(${state.zoom})`;
      parts.push(stage);
    }
    if (current.view === "texture") {
      const tiled = el("div", { class: "tiled", role: "img", "aria-label": "The texture tiled 3 by 3, to show its seams" });
      tiled.style.backgroundImage = `url(${src})`;
      const probe = new Image();
      probe.onload = () => { tiled.style.backgroundSize = `${100 / 3}% ${100 / 3}%`; tiled.style.aspectRatio = `${probe.width} / ${probe.height}`; tiled.style.height = "auto"; };
      probe.src = src;
      parts.push(el("h3", { text: "Tiled 3×3" }), tiled);
    }
    if (current.layout_svg) {  // an <img> of the SVG: drawn, never run
      parts.push(el("figure", { class: "layout" },
        image(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(current.layout_svg)}`, "Layout sketch: who stands where in this shot"),
        el("figcaption", { text: "Blocking: the shot's layout sketch (what a layout model conditions the frame on)" })));
    }
    if (current.sheet.length > 1) {
      const sheet = el("div", { class: "sheet", role: "list", "aria-label": "Every frame of this storyboard scene" });
      current.sheet.forEach((frame, i) => {
        sheet.append(el("figure", { class: frame.current ? "current" : "", role: "listitem" },
          image(current.blobs[frame.content_url], `frame ${i + 1}: ${frame.asset_id}`),
          el("figcaption", { text: `${i + 1}. ${frame.asset_id} — ${frame.review_status}${frame.current ? " (this one)" : ""}` })));
      });
      parts.push(el("h3", { text: "Storyboard sheet (each frame is its own decision)" }), sheet);
    }
  } else if (current.view === "text") {
    if (state.showDiff && current.diff) {
      const pre = el("pre", { class: "diff", "aria-label": "Diff against the previous version" });
      for (const line of current.diff.split("\n")) {
        pre.append(el("span", { class: line.startsWith("+") && !line.startsWith("+++") ? "add" : line.startsWith("-") && !line.startsWith("---") ? "del" : "", text: line + "\n" }));
      }
      parts.push(pre);
    } else {
      parts.push(el("p", { text: "✎ marks what a person wrote or changed; the rest a model generated." }),
        el("pre", { class: "text", tabindex: "0", "aria-label": "The text" }, current.text || ""));
    }
  } else if (current.view === "subtitles") {
    const table = el("table", {}, el("caption", { text: "Cues" }),
      el("thead", {}, el("tr", {}, ...["#", "Start", "End", "Duration", "Chars/s", "Text"].map((h) => el("th", { scope: "col", text: h })))));
    const body = el("tbody");
    for (const cue of current.cues || []) {
      body.append(el("tr", {}, el("td", { class: "num", text: String(cue.index) }), el("td", { class: "num", text: cue.start.toFixed(3) }),
        el("td", { class: "num", text: cue.end.toFixed(3) }), el("td", { class: "num", text: (cue.end - cue.start).toFixed(2) }),
        el("td", { class: "num", text: String(cue.chars_per_second) }), el("td", { text: cue.text })));
    }
    table.append(body);
    parts.push(table);
    if (current.text) parts.push(el("pre", { class: "text", text: current.text }));
  } else if (current.view === "audio") {
    const player = el("audio", { controls: "", src, "aria-label": "The voice-over" });
    parts.push(player);
    const listening = current.summary && current.summary.listening;
    if (listening) parts.push(listeningTable(listening, player));
    if (current.timing) {
      parts.push(el("h3", { text: "Timing report" }), el("pre", { class: "text", text: JSON.stringify(current.timing, null, 1) }));
    }
  } else if (current.view === "video") {
    const video = el("video", { controls: "", src, "aria-label": "The animatic", width: "640" });
    if (current.subtitles_url && current.blobs[current.subtitles_url]) {
      video.append(el("track", { kind: "subtitles", src: current.blobs[current.subtitles_url], default: "", label: "Subtitles" }));
    }
    parts.push(video);
    const cuts = (current.lineage.inputs || {}).cuts || [];
    if (cuts.length) {
      const table = el("table", {}, el("caption", { text: "Shots" }),
        el("thead", {}, el("tr", {}, ...["Scene", "Shot", "Start", "End", "Frame"].map((h) => el("th", { scope: "col", text: h })))));
      const body = el("tbody");
      for (const c of cuts) {
        body.append(el("tr", {}, el("td", { text: c.scene_id }), el("td", { text: c.shot_id }), el("td", { class: "num", text: c.start.toFixed(2) }),
          el("td", { class: "num", text: c.end.toFixed(2) }), el("td", { text: c.frame })));
      }
      table.append(body);
      parts.push(table);
    }
  } else {
    parts.push(el("p", { text: "This kind of file has no preview; download it from the API." }));
  }
  content.replaceChildren(...parts);
}

function renderPanel(current) {
  const { item } = current;
  const panel = [];
  panel.push(el("h3", { text: "Findings" }));
  const findings = el("ul");
  for (const f of item.findings) {
    findings.append(el("li", { class: f.open ? `sev-${f.severity}` : "closed" },
      `${f.severity} ${f.check}${f.blocks_approval && f.open ? " (blocks approval)" : ""}: ${f.message}`));
  }
  if (!item.findings.length) findings.append(el("li", { text: "none" }));
  panel.push(findings);
  panel.push(el("h3", { text: "Provenance" }));
  const provenance = el("ul");
  for (const p of current.provenance) provenance.append(el("li", { class: p.open ? `sev-${p.severity}` : "closed", text: `${p.check}: ${p.message}` }));
  if (!current.provenance.length) {
    const signable = ["image", "texture", "audio", "video"].includes(current.view);
    provenance.append(el("li", { text: signable ? "Content Credentials verified against the trust anchor" : "not a signed media type" }));
  }
  panel.push(provenance);
  const lineage = current.lineage || {};
  panel.push(el("h3", { text: "Lineage" }));
  const facts = el("ul");
  if (lineage.model) facts.append(el("li", { text: `model ${lineage.model.id} @ ${lineage.model.revision}` }));
  if (lineage.seed !== null && lineage.seed !== undefined) facts.append(el("li", { text: `seed ${lineage.seed}` }));
  const prompt = lineage.inputs && (lineage.inputs.prompt || lineage.inputs.source_asset_id);
  if (prompt) facts.append(el("li", { text: `prompt: ${String(prompt).slice(0, 300)}` }));
  for (const parent of lineage.parent_asset_ids || []) facts.append(el("li", { text: `from ${parent}` }));
  if (lineage.cost) facts.append(el("li", { text: `model time ${lineage.cost.model_seconds}s on ${lineage.cost.device}` }));
  panel.push(facts);
  const attribution = current.attribution;
  if (attribution) {
    panel.push(el("h3", { text: `Attribution (${attribution.authorship})` }));
    const parts = el("ul");
    for (const part of attribution.parts) parts.append(el("li", { text: `${part.part}: ${part.human} by a person, ${part.ai} by a model` }));
    panel.push(parts);
  }
  if (item.decision) panel.push(el("h3", { text: "First decision" }), el("p", { text: `${item.decision.outcome} by ${item.decision.reviewer.subject}: ${item.decision.notes || ""}` }));
  $("panel").replaceChildren(...panel);
}

function zoom(level) {
  state.zoom = Math.max(1, Math.min(8, level));
  if (!state.current) return;
  renderTools(state.current);
  const img = document.querySelector("#content .stage img");
  if (img) img.style.transform = `scale(${state.zoom})`;
  say(`Zoom ${state.zoom}×`);
}

function moveWipe(delta) {
  if (!state.current || !state.current.previous_url) return;
  state.wipe = Math.max(0, Math.min(100, state.wipe + delta));
  renderContent(state.current);
}

function toggleDiff() {
  if (!state.current || !state.current.diff) return;
  state.showDiff = !state.showDiff;
  renderTools(state.current);
  renderContent(state.current);
}

// --- decisions -------------------------------------------------------------------------------

async function decide(outcome, notes = "", regions = []) {
  if (state.busy) return;
  const current = state.current;
  if (!current) return;
  state.busy = true;
  const itemId = current.item.item_id;
  try {
    const decision = await post(`/reviews/items/${itemId}/decision`, { outcome, ...(notes ? { notes } : {}), ...(regions.length ? { regions } : {}) });
    say(`${outcome.replace("_", " ")}: ${current.item.asset.asset_id} (event ${decision.event_id})`);
    state.queue = state.queue.filter((i) => i.item_id !== itemId);
    state.cache.delete(itemId);
    state.current = null;
    await next();
  } catch (error) {
    say(`Not recorded: ${error.message}`, true);
  } finally {
    state.busy = false;
  }
}

async function skip() {
  if (!state.current) { await next(); return; }
  const order = filtered();
  const index = order.findIndex((i) => i.item_id === state.current.item.item_id);
  const following = order[index + 1] || order.find((i) => i.item_id !== state.current.item.item_id);
  if (!following) { say("No other item waits."); return; }
  try {
    const claimed = await post("/reviews/claim", { lease_seconds: 600, item_id: following.item_id });  // gives the current one back
    if (claimed) await open(claimed.item_id); else { await loadQueue(); await next(); }
  } catch (error) { say(`Could not move on: ${error.message}`, true); }
}

// The notes dialog: required for a revision, optional for a rejection; regions on images.
let regionState = null;

function askNotes(outcome) {
  const current = state.view === "second" ? state.second && state.second.view : state.current;
  if (!current) return;
  const dialog = $("notes-dialog");
  const isImage = state.view !== "second" && outcome === "revision_requested" && (current.view === "image" || current.view === "texture");
  $("notes-title").textContent = outcome === "revision_requested" ? "What should change?" : "Why? (optional)";
  $("notes-required").textContent = outcome === "revision_requested" ? "(required)" : "(optional)";
  $("notes").value = "";
  $("notes").required = outcome === "revision_requested";
  $("notes-error").textContent = "";
  $("region-editor").hidden = !isImage;
  regionState = { outcome, regions: [], box: null };
  $("region-list").replaceChildren();
  $("region-box").hidden = true;
  document.querySelectorAll(".region-mark").forEach((m) => m.remove());
  if (isImage) $("region-image").src = current.blobs[current.content_url];
  dialog.showModal();
  $("notes").focus();
}

function drawBox() {
  const box = $("region-box");
  const r = regionState && regionState.box;
  box.hidden = !r;
  if (!r) return;
  Object.assign(box.style, { left: `${r.x * 100}%`, top: `${r.y * 100}%`, width: `${r.width * 100}%`, height: `${r.height * 100}%` });
}

function regionKeys(event) {
  // Alt+M (anywhere in the dialog) starts a region and puts the focus on the image; there the
  // arrow keys move it, Shift+arrows resize it and Enter keeps it.
  if (!regionState || $("region-editor").hidden) return false;
  const stage = $("region-stage");
  const onStage = event.target === stage;
  const r = regionState.box;
  const step = 0.05;
  if ((event.key === "m" || event.key === "M" || event.code === "KeyM") && (event.altKey || onStage)) {
    regionState.box = { x: 0.35, y: 0.35, width: 0.3, height: 0.3 };
    stage.focus();
  } else if (onStage && r && event.key.startsWith("Arrow")) {
    const dx = event.key === "ArrowLeft" ? -step : event.key === "ArrowRight" ? step : 0;
    const dy = event.key === "ArrowUp" ? -step : event.key === "ArrowDown" ? step : 0;
    if (event.shiftKey) {
      r.width = Math.min(1 - r.x, Math.max(0.05, r.width + dx));
      r.height = Math.min(1 - r.y, Math.max(0.05, r.height + dy));
    } else {
      r.x = Math.min(1 - r.width, Math.max(0, r.x + dx));
      r.y = Math.min(1 - r.height, Math.max(0, r.y + dy));
    }
  } else if (onStage && r && event.key === "Enter" && !event.ctrlKey) {
    keepRegion();
    $("notes").focus();
  } else {
    return false;
  }
  event.preventDefault();
  drawBox();
  return true;
}

function keepRegion() {
  const r = regionState.box;
  const round = (v) => Math.round(v * 1000) / 1000;
  const region = { x: round(r.x), y: round(r.y), width: round(Math.min(r.width, 1 - r.x)), height: round(Math.min(r.height, 1 - r.y)), note: $("region-note").value.trim() };
  regionState.regions.push(region);
  const mark = el("div", { class: "region-mark" });
  Object.assign(mark.style, { left: `${region.x * 100}%`, top: `${region.y * 100}%`, width: `${region.width * 100}%`, height: `${region.height * 100}%` });
  $("region-stage").append(mark);
  $("region-list").append(el("li", { text: `region ${regionState.regions.length}: ${Math.round(region.x * 100)}%, ${Math.round(region.y * 100)}% · ${Math.round(region.width * 100)}×${Math.round(region.height * 100)}% ${region.note}` }));
  regionState.box = null;
  $("region-note").value = "";
  say(`Region ${regionState.regions.length} marked.`);
}

function setupRegionDrag() {
  const stage = $("region-stage");
  let start = null;
  const at = (event) => {
    const rect = stage.getBoundingClientRect();
    return { x: Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width)), y: Math.min(1, Math.max(0, (event.clientY - rect.top) / rect.height)) };
  };
  stage.addEventListener("pointerdown", (event) => { start = at(event); event.preventDefault(); });
  stage.addEventListener("pointermove", (event) => {
    if (!start) return;
    const p = at(event);
    regionState.box = { x: Math.min(start.x, p.x), y: Math.min(start.y, p.y), width: Math.max(0.01, Math.abs(p.x - start.x)), height: Math.max(0.01, Math.abs(p.y - start.y)) };
    drawBox();
  });
  stage.addEventListener("pointerup", () => { start = null; });
}

async function sendNotes() {
  const notes = $("notes").value.trim();
  if (regionState.outcome === "revision_requested" && !notes) {
    $("notes-error").textContent = "A revision request says what to change.";
    $("notes").focus();
    return;
  }
  const { outcome, regions } = regionState;
  $("notes-dialog").close();
  if (state.view === "second") await decideSecond(outcome, notes);
  else await decide(outcome, notes, regions);
}

// --- second review ---------------------------------------------------------------------------

async function claimSecond() {
  const body = $("second-body");
  let claimed;
  try { claimed = await post("/reviews/second/claim", { lease_seconds: 600 }); } catch (error) { say(error.message, true); return; }
  if (!claimed) {
    state.second = null;
    body.replaceChildren(el("p", { text: "No sampled decision waits for a second look." }));
    return;
  }
  const loaded = await load(claimed.item.item_id);
  const view = { ...loaded.item, blobs: loaded.blobs };
  state.second = { claim: claimed, view };
  const first = claimed.item.decision;
  body.replaceChildren(
    el("h3", { text: `${claimed.item.asset.kind}: ${claimed.item.asset.asset_id} (version ${claimed.item.asset.version})` }),
    el("p", { text: `First decision hidden until you record yours.` }),
    el("div", { id: "second-content" }));
  renderContent(view, $("second-content"));
  state.second.first = first;
}

async function decideSecond(outcome, notes = "") {
  if (!state.second) return;
  try {
    const done = await post(`/reviews/second/${state.second.claim.second_review_id}/decision`, { outcome, ...(notes ? { notes } : {}) });
    const first = state.second.first;
    say(`Second review: ${done.outcome}; first was ${first ? first.outcome : "?"} — ${done.agrees ? "agree" : "disagree"}.`);
    await claimSecond();
  } catch (error) { say(`Not recorded: ${error.message}`, true); }
}

// --- dashboard -------------------------------------------------------------------------------

const minutes = (s) => (s / 60).toFixed(1);

async function loadDashboard() {
  let board;
  try { board = await api("/reviews/dashboard?window_hours=24"); } catch (error) { say(error.message, true); return; }
  const rows = board.kinds.map((k) => el("tr", { class: k.sla_breaches ? "breach" : "" },
    el("th", { scope: "row", text: k.kind }), ...[k.pending, minutes(k.oldest_pending_seconds), minutes(k.median_pending_seconds), k.decided,
      k.median_decision_seconds.toFixed(1), k.p90_decision_seconds.toFixed(1), k.sla_breaches, k.arrivals_per_hour.toFixed(1),
      k.reviewers_needed.toFixed(2)].map((v) => el("td", { class: "num", text: String(v) }))));
  const kinds = el("table", {}, el("caption", { text: `By kind, last ${board.window_hours} h (SLA ${minutes(board.sla_seconds)} min)` }),
    el("thead", {}, el("tr", {}, ...["Kind", "Pending", "Oldest (min)", "Median age (min)", "Decided", "Median decision (s)", "p90 decision (s)",
      "SLA breaches", "Arrivals/h", "Reviewers needed"].map((h) => el("th", { scope: "col", text: h })))), el("tbody", {}, ...rows));
  const people = el("table", {}, el("caption", { text: "Reviewers" }),
    el("thead", {}, el("tr", {}, ...["Reviewer", "Decisions", "Handling hours", "Decisions per reviewer-hour"].map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...board.reviewers.map((r) => el("tr", {}, el("th", { scope: "row", text: r.reviewer }),
      ...[r.decisions, r.handling_hours.toFixed(2), r.decisions_per_hour.toFixed(1)].map((v) => el("td", { class: "num", text: String(v) }))))));
  const agreement = board.agreement === null ? "no second reviews yet" : `${Math.round(board.agreement * 100)}% agreement`;
  $("dashboard-body").replaceChildren(
    el("p", { id: "staffing", text: `Reviewers needed to keep the SLA at the current generation rate: ${board.reviewers_needed.toFixed(2)}` }),
    kinds, people,
    el("p", { text: `Second review: ${board.second_reviews_done} done, ${board.second_reviews_pending} waiting, ${agreement}.` }));
}

// --- consents --------------------------------------------------------------------------------

async function loadConsents() {
  let page;
  try { page = await api("/consents?limit=200"); } catch (error) { say(error.message, true); return; }
  const now = Date.now();
  $("consent-table").tBodies[0].replaceChildren(...page.items.map((c) => {
    const expired = c.expires_at && Date.parse(c.expires_at) <= now;
    const status = c.revoked ? `revoked: ${c.revoked.reason}` : expired ? "expired" : "active";
    const actions = el("td");
    if (state.me.can_manage_consents && !c.revoked) {
      actions.append(el("button", { type: "button", onclick: () => revokeConsent(c), text: `Revoke ${c.performer}` }));
    }
    return el("tr", {}, el("th", { scope: "row", text: c.performer }), el("td", { text: c.scopes.join(", ") }),
      el("td", { text: c.production_ids.join(", ") || "all" }), el("td", { text: c.expires_at ? c.expires_at.slice(0, 10) : "never" }),
      el("td", { text: c.recorded ? c.recorded.reason : "" }), el("td", { text: status }), actions);
  }));
}

async function recordConsent(event) {
  event.preventDefault();
  const scopes = [...document.querySelectorAll("input[name=scope]:checked")].map((i) => i.value);
  const productions = $("c-productions").value.split(",").map((p) => p.trim()).filter(Boolean);
  const expires = $("c-expires").value;
  try {
    await post("/consents", { performer: $("c-performer").value, scopes, production_ids: productions,
      ...(expires ? { expires_at: `${expires}T23:59:59Z` } : {}), reason: $("c-document").value });
    say(`Consent recorded for ${$("c-performer").value}.`);
    $("consent-form").reset();
    await loadConsents();
  } catch (error) { say(`Not recorded: ${error.message}`, true); }
}

async function revokeConsent(consent) {
  const reason = prompt(`Why is ${consent.performer}'s consent revoked?`);
  if (!reason) return;
  try {
    await post(`/consents/${consent.consent_id}/revoke`, { reason });
    say(`Consent revoked; assets relying on it are flagged again.`);
    await loadConsents();
  } catch (error) { say(`Not revoked: ${error.message}`, true); }
}

// --- the cast --------------------------------------------------------------------------------

async function loadCast() {
  const select = $("cast-production");
  if (!select.options.length) {
    let page;
    try { page = await api("/productions?limit=100"); } catch (error) { say(error.message, true); return; }
    for (const p of page.items) select.append(el("option", { value: p.production_id, text: `${p.title} (${p.production_id})` }));
  }
  if (!select.value) { $("cast-body").replaceChildren(el("p", { text: "No production to show." })); return; }
  let cast;
  try { cast = await api(`/productions/${encodeURIComponent(select.value)}/cast`); } catch (error) { say(error.message, true); return; }
  $("casting-form").hidden = !state.me.can_cast;
  $("cast-warning").textContent = cast.unconsented.length
    ? `Cast as voices without a consent for 'voice' in force: ${cast.unconsented.join(", ")}. Their characters' dubs fail until one is recorded.` : "";
  const cards = await Promise.all(cast.members.map(castCard));
  $("cast-body").replaceChildren(...(cards.length ? cards : [el("p", { text: "No reference sheets or voices yet." })]));
}

// A voice cast for one character and locale (replacing its entry, if any); the answer lists the dubs it makes stale.
async function saveCasting(event) {
  event.preventDefault();
  const production = $("cast-production").value;
  const kind = document.querySelector("input[name=v-kind]:checked").value;
  const speaker = $("v-speaker").value === "" ? null : Number($("v-speaker").value);
  const model = $("v-model").value.trim() || null;
  const voice = kind === "performer" ? { kind, performer: $("v-performer").value.trim(), model, speaker: speaker ?? 0 } : { kind, model, speaker };
  const entry = { character: $("v-character").value.trim(), locale: $("v-locale").value.trim() || "*", voice };
  try {
    const current = await api(`/productions/${encodeURIComponent(production)}/casting`);
    const others = current.entries.filter((e) => !(e.character.toUpperCase() === entry.character.toUpperCase() && e.locale === entry.locale));
    const saved = await api(`/productions/${encodeURIComponent(production)}/casting`,
      { method: "PUT", body: JSON.stringify({ entries: [...others, entry] }) });
    const stale = saved.stale_dubs.map((d) => `${d.asset_id} v${d.version} (${d.characters.join(", ")})`);
    $("casting-result").textContent = stale.length ? `Saved. Dubs now stale: ${stale.join("; ")}.` : "Saved. No dub is stale.";
    await loadCast();
  } catch (error) { say(`Not saved: ${error.message}`, true); }
}

async function castCard(member) {
  const card = el("article", { class: "cast-member", "aria-label": `${member.kind} ${member.name}` },
    el("h3", { text: `${member.name} (${member.kind})` }));
  if (member.keeps) {
    try {
      const blob = await api(`/assets/${encodeURIComponent(member.keeps.asset_id)}/content?version=${member.keeps.version}`);
      card.append(el("figure", {}, image(URL.createObjectURL(blob), `${member.name}, ${member.keeps.view} view`),
        el("figcaption", { text: `kept: ${member.keeps.asset_id} v${member.keeps.version}` })));
    } catch (error) { card.append(el("p", { text: `kept view unavailable: ${error.message}` })); }
  } else {
    card.append(el("p", { class: "pending", text: "No approved view frames keep yet: frames draw this member from the prompt alone." }));
  }
  card.append(el("ul", { "aria-label": "Reference versions" }, ...member.references.map((r) =>
    el("li", { text: `${r.view}: ${r.asset_id} v${r.version} ${r.approved ? "approved" : "not approved"}` }))));
  const frames = member.frames.map((f) => el("li", { class: member.stale_frames.includes(f) ? "stale" : "",
    text: member.stale_frames.includes(f) ? `${f} (stale: a newer reference is approved)` : f }));
  card.append(el("p", { text: `Frames drawn with it: ${member.frames.length}, stale: ${member.stale_frames.length}` }),
    el("ul", { "aria-label": "Frames" }, ...frames));
  if (member.kind === "character") {
    const voices = member.voices.map((e) => {
      const v = e.voice;
      const who = v.kind === "performer" ? `${v.performer}'s voice (${v.model}, speaker ${v.speaker})`
        : `model voice ${v.model || "of the locale"}, speaker ${v.speaker ?? "chosen from the name"}`;
      return el("li", { text: `${e.locale === "*" ? "every locale" : e.locale}: ${who}` });
    });
    card.append(el("ul", { "aria-label": "Voices" }, ...(voices.length ? voices : [el("li", { text: "voice: the service's stable choice" })])));
  }
  return card;
}

// --- keys ------------------------------------------------------------------------------------

function onKey(event) {
  const dialog = $("notes-dialog");
  if (dialog.open) {
    if (regionKeys(event)) return;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); sendNotes(); }
    return;  // Esc closes the dialog natively
  }
  if ($("help").open || !state.me) return;
  const target = event.target;
  if (target.matches && target.matches("input, textarea, select") && event.key !== "Escape") return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key;
  const handled = () => event.preventDefault();
  if (key === "?") { handled(); $("help").showModal(); return; }
  if (key === "q") { handled(); show("queue"); return; }
  if (key === "s") { handled(); show("second"); return; }
  if (key === "g") { handled(); show("dashboard"); return; }
  if (key === "c") { handled(); show("consents"); return; }
  if (key === "k") { handled(); show("cast"); return; }
  if (!state.me.can_review) return;
  if (state.view === "second") {
    if (key === "a") { handled(); decideSecond("approved"); }
    else if (key === "r") { handled(); askNotes("rejected"); }
    else if (key === "v") { handled(); askNotes("revision_requested"); }
    else if (key === "n") { handled(); claimSecond(); }
    return;
  }
  if (state.view !== "queue") return;
  if (key === "a") { handled(); decide("approved"); }
  else if (key === "r") { handled(); askNotes("rejected"); }
  else if (key === "v") { handled(); askNotes("revision_requested"); }
  else if (key === "n") { handled(); skip(); }
  else if (key === "z") { handled(); zoom(state.zoom > 1 ? 1 : 2); }
  else if (key === "+" || key === "=") { handled(); zoom(state.zoom * 2); }
  else if (key === "-") { handled(); zoom(state.zoom / 2); }
  else if (key === "[") { handled(); moveWipe(-10); }
  else if (key === "]") { handled(); moveWipe(10); }
  else if (key === "w") { handled(); moveWipe(state.wipe >= 50 ? -50 : 50); }
  else if (key === "d") { handled(); toggleDiff(); }
  else if (key === "p") { const audio = document.querySelector("#content audio, #content video"); if (audio) { handled(); audio.paused ? audio.play() : audio.pause(); } }
  else if (/^[1-9]$/.test(key) && state.current && state.current.sheet.length > 1) {
    const frame = state.current.sheet[Number(key) - 1];
    const target = frame && state.queue.find((i) => i.asset.asset_id === frame.asset_id);
    if (target) { handled(); post("/reviews/claim", { lease_seconds: 600, item_id: target.item_id }).then((c) => c && open(c.item_id)); }
  }
}

// --- start -----------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", (event) => { event.preventDefault(); signIn($("token").value); });
  $("token").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); signIn($("token").value); }
  });
  $("signout").addEventListener("click", signOut);
  $("help-button").addEventListener("click", () => $("help").showModal());
  for (const button of document.querySelectorAll("#nav [data-view]")) button.addEventListener("click", () => show(button.dataset.view));
  $("cast-production").addEventListener("change", () => loadCast());
  $("casting-form").addEventListener("submit", saveCasting);
  $("approve").addEventListener("click", () => decide("approved"));
  $("reject").addEventListener("click", () => askNotes("rejected"));
  $("revise").addEventListener("click", () => askNotes("revision_requested"));
  $("skip").addEventListener("click", skip);
  $("notes-form").addEventListener("submit", (event) => { event.preventDefault(); sendNotes(); });
  $("notes-cancel").addEventListener("click", () => $("notes-dialog").close());
  $("consent-form").addEventListener("submit", recordConsent);
  for (const id of ["f-production", "f-kind", "f-finding", "f-age"]) $(id).addEventListener("change", () => { renderQueue(); prefetch(); });
  $("region-note").addEventListener("keydown", (event) => { if (event.key === "Enter" && !event.ctrlKey) event.preventDefault(); });
  setupRegionDrag();
  document.addEventListener("keydown", onKey);
  if (state.token) signIn(state.token); else $("token").focus();
});
