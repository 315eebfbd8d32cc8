# Mounts a littlefs RAM disk at / (tests and aioble's secrets write files).
# It sits in the board's second SRAM bank (0x20000000), outside the GC heap,
# and starts empty at every boot.
import uctypes, vfs


class _RamDisk:
    BLOCK = 1024

    # None of these methods may contain a jump: MicroPython runs scheduled
    # callbacks (Bluetooth IRQ handlers) at every jump, and a handler that
    # writes a file would re-enter littlefs in the middle of the operation
    # that called the block device (upstream stress_log_filesystem then got
    # ENOSPC one run in six). A board's block devices are C and have no jumps.
    def __init__(self, addr, blocks):
        self.data = memoryview(uctypes.bytearray_at(addr, blocks * self.BLOCK))
        self.blocks = blocks
        # ioctl answers: block count, block size, erase (nothing to do in RAM).
        self.answers = {4: blocks, 5: self.BLOCK, 6: 0}

    def readblocks(self, n, buf, off=0):
        at = n * self.BLOCK + off
        buf[:] = self.data[at : at + len(buf)]

    def writeblocks(self, n, buf, off=0):
        at = n * self.BLOCK + off
        self.data[at : at + len(buf)] = buf

    def ioctl(self, op, arg):
        return self.answers.get(op)


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
