"""Build hook: generate Python gRPC code from shared/proto at install time.

The .proto files are the contract; generated code is a build product and is not committed.
"""

from __future__ import annotations

from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class ProtoBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        import grpc_tools
        from grpc_tools import protoc

        root = Path(self.root)
        proto_dir = root / "proto"
        out_dir = root / "src"
        protos = sorted(str(p.relative_to(proto_dir)) for p in proto_dir.rglob("*.proto"))
        if not protos:
            return
        include = Path(grpc_tools.__file__).parent / "_proto"
        args = [
            "grpc_tools.protoc",
            f"-I{proto_dir}",
            f"-I{include}",
            f"--python_out={out_dir}",
            f"--pyi_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            *protos,
        ]
        if protoc.main(args) != 0:
            raise RuntimeError(f"protoc failed for {protos}")
        # Every generated folder is a regular package so type checkers and importlib agree.
        for folder in {(out_dir / p).parent for p in protos}:
            while folder != out_dir / "helix" and folder != out_dir:
                (folder / "__init__.py").touch()
                folder = folder.parent
        generated = [
            str(p.relative_to(root))
            for p in (out_dir / "helix" / "v1").rglob("*")
            if p.suffix in {".py", ".pyi"}
        ]
        build_data["artifacts"].extend(generated)
