"""Unpacks function code and layers into folders the workers run from.

Each code package and each layer is unpacked once per emulator run, into a
folder named by its SHA-256, below the emulator's state folder; environments
of the same code share it. The folder is emptied when the emulator starts, so
a killed emulator leaves at most one stale copy behind, which the next start
removes.
"""

from __future__ import annotations

import io
import shutil
import sys
import threading
import zipfile
from pathlib import Path

from .functions import FunctionSpec


class CodeStore:
    """Folders of unpacked code, keyed by content hash."""

    def __init__(self, root: Path) -> None:
        self.root = root
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def _unpack(self, kind: str, sha256: str, data: bytes) -> Path:
        target = self.root / kind / (sha256.replace("/", "_").replace("+", "-") or "empty")
        with self._lock:
            if target.is_dir():
                return target
            partial = target.with_name(target.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            if data:
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    archive.extractall(partial)
            partial.rename(target)
            return target

    def task_root(self, spec: FunctionSpec) -> Path:
        return self._unpack("code", spec.code_sha256, spec.code)

    def layer_paths(self, spec: FunctionSpec) -> list[str]:
        """The folders Lambda's Python runtime puts on ``sys.path`` for each layer."""
        versions = [f"python{sys.version_info.major}.{sys.version_info.minor}"]
        if spec.runtime.startswith("python") and spec.runtime not in versions:
            versions.append(spec.runtime)  # a layer built for the function's runtime
        paths: list[str] = []
        for layer in spec.layers:
            root = self._unpack("layers", layer.sha256, layer.code)
            for version in versions:
                paths.append(str(root / "python" / "lib" / version / "site-packages"))
            paths.append(str(root / "python"))
        return paths

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
