# Mounts a littlefs RAM disk at / (tests and aioble's secrets write files).
# It sits in the board's second SRAM bank (0x20000000), outside the GC heap,
# and starts empty at every boot.
import uctypes, vfs


class _RamDisk:
    BLOCK = 1024

    def __init__(self, addr, blocks):
        self.data = memoryview(uctypes.bytearray_at(addr, blocks * self.BLOCK))
        self.blocks = blocks

    def readblocks(self, n, buf, off=0):
        at = n * self.BLOCK + off
        buf[:] = self.data[at : at + len(buf)]

    def writeblocks(self, n, buf, off=0):
        at = n * self.BLOCK + off
        self.data[at : at + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:
            return self.blocks
        if op == 5:
            return self.BLOCK
        if op == 6:
            return 0


def _mount():
    disk = _RamDisk(0x20000000, 256)
    try:
        fs = vfs.VfsLfs2(disk)
    except OSError:
        vfs.VfsLfs2.mkfs(disk)
        fs = vfs.VfsLfs2(disk)
    vfs.mount(fs, "/")


_mount()
del _mount, _RamDisk
