# Frozen modules of the qemu firmware: the project's (asyncio, aioble) plus
# the boot script that mounts the RAM disk.
include("../manifest.py")
module("_boot.py")
