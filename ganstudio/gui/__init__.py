"""The desktop app: PySide6 pages over the Qt-free engine; the only package that imports Qt or pyqtgraph."""
