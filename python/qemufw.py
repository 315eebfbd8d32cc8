"""The QEMU firmware (make firmware-qemu): where it is and how QEMU runs it.

A board's firmware runs on QEMU's MPS2 machine of the same name; its REPL is
UART0 (QEMU's first -serial) and its HCI controller is UART1 (the second).
"""

from __future__ import annotations

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOARDS = {'MPS2_AN385': 'mps2-an385', 'MPS2_AN500': 'mps2-an500'}
DEFAULT_BOARD = 'MPS2_AN385'


def firmware(board: str = DEFAULT_BOARD) -> str:
    """Path of a board's firmware image."""
    return os.path.join(ROOT, 'build', f'qemu-{board}', 'firmware.elf')


def controller_serial(endpoint: str | None) -> str:
    """QEMU's -serial value for a virtual-radio endpoint (pty path or host:port)."""
    if endpoint is None:
        return 'null'
    if endpoint.startswith('/'):
        return endpoint
    return f'tcp:{endpoint},nodelay=on'


def command(
    board: str, endpoint: str | None, console: str = 'pty', report: str | None = None,
    elf: str | None = None,
) -> list[str]:
    """qemu-system-arm's arguments: REPL on `console`, UART1 on the controller,
    and with `report` UART2 (the firmware's "stack_peak N" lines) into that file;
    `elf` is another build for the board (make size's variants)."""
    if board not in BOARDS:
        raise ValueError(f'unknown board {board!r}; one of {", ".join(BOARDS)}')
    cmd = [
        'qemu-system-arm', '-machine', BOARDS[board], '-nographic', '-monitor', 'null',
        '-semihosting', '-serial', console, '-serial', controller_serial(endpoint),
    ]
    if report:
        cmd += ['-serial', f'file:{report}']
    return cmd + ['-kernel', elf or firmware(board)]


def pyboard_device(board: str, endpoint: str | None, report: str | None = None, elf: str | None = None) -> str:
    """A tools/pyboard.py device string that starts the firmware in QEMU."""
    return 'execpty:' + ' '.join(command(board, endpoint, report=report, elf=elf))
