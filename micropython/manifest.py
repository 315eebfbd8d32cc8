# Frozen modules for the project's firmware. The Debian source tree has no
# lib/micropython-lib, so nothing here may use require(); everything frozen
# comes from the MicroPython tree itself or from this repository.

# aioble and the multi-instance tests are built on asyncio.
include("$(MPY_DIR)/extmod/asyncio")

# The project's aioble drop-in, once it exists. Manifests run with their own
# directory as the working directory, so the path is relative to this file.
import os

if os.path.isdir("../python/aioble"):
    package("aioble", base_path="../python")
