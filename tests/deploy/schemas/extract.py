"""Write the openAPIV3Schema of each CRD's served storage version as `<group>_<version>_<Kind>.json`.

    python tests/deploy/schemas/extract.py CRD.yaml [CRD.yaml ...]

The schemas are copied verbatim; tests/deploy/test_k8s.py makes them strict when it loads them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).parent


def extract(crd_file: Path) -> Path:
    crd = yaml.safe_load(crd_file.read_text())
    spec = crd["spec"]
    (version,) = [v for v in spec["versions"] if v.get("served") and v.get("storage")]
    out = HERE / f"{spec['group']}_{version['name']}_{spec['names']['kind']}.json"
    out.write_text(json.dumps(version["schema"]["openAPIV3Schema"], indent=1) + "\n")
    return out


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(extract(Path(arg)))
