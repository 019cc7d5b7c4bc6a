"""Package layout: every ganstudio package, plus the top-level resources/ folder shipped as ganstudio/resources.

Everything else (metadata, dependencies) is in pyproject.toml; only this mapping needs code, because
setuptools' find in pyproject.toml cannot add a package that lives outside the ganstudio folder.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=find_namespace_packages(include=["ganstudio*"], exclude=["*.__pycache__"]) + ["ganstudio.resources"],
    package_dir={"ganstudio.resources": "resources"},
)
