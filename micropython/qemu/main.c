// main() of the project's qemu port variant: the port's REPL loop, plus the
// board's interrupts and timers, a RAM disk (_boot.py), Bluetooth shut down
// on soft reset, and the stack's high-water mark.
#include <stdlib.h>
#include <string.h>

#include "py/compile.h"
#include "py/runtime.h"
#include "py/stackctrl.h"
#include "py/gc.h"
#include "py/mphal.h"
#include "extmod/modbluetooth.h"
#include "shared/readline/readline.h"
#include "shared/runtime/gchelper.h"
#include "shared/runtime/pyexec.h"
#include "shared/runtime/softtimer.h"

#if MICROPY_HEAP_SIZE <= 0
#error MICROPY_HEAP_SIZE must be a positive integer.
#endif

// The stack as a board would size it; Python's recursion check keeps 2 KiB
// of it for C code running below the last check.
#ifndef MICROPY_HW_STACK_SIZE
#define MICROPY_HW_STACK_SIZE (48 * 1024)
#endif

// Painted at boot, so the deepest use can be read later (_mps2.stack_peak()).
#define STACK_PAINT (0x55aa55aau)

void mps2_init(void);
void console_init(void);

static uint32_t gc_heap[MICROPY_HEAP_SIZE / sizeof(uint32_t)];
static uint32_t *stack_bottom;

// Fills the unused part of the stack below the current frame.
static void __attribute__((noinline)) stack_paint(void) {
    volatile uint32_t here;
    uint32_t *top = (uint32_t *)((uintptr_t)&here & ~3u) - 16;
    for (uint32_t *p = stack_bottom; p < top; ++p) {
        *p = STACK_PAINT;
    }
}

// Bytes of stack ever used: from its top down to the deepest word changed.
size_t mps2_stack_peak(void) {
    const uint32_t *p = stack_bottom;
    while (*p == STACK_PAINT) {
        ++p;
    }
    return (uintptr_t)MP_STATE_THREAD(stack_top) - (uintptr_t)p;
}

int main(int argc, char **argv) {
    mps2_init();
    mp_stack_ctrl_init();
    mp_stack_set_limit(MICROPY_HW_STACK_SIZE - 2048);
    stack_bottom = (uint32_t *)((uintptr_t)MP_STATE_THREAD(stack_top) - MICROPY_HW_STACK_SIZE);
    stack_paint();
    console_init();

    for (;;) {
        gc_init(gc_heap, (char *)gc_heap + MICROPY_HEAP_SIZE);
        mp_init();
        readline_init0();
        pyexec_frozen_module("_boot.py", false);

        for (;;) {
            if (pyexec_mode_kind == PYEXEC_MODE_RAW_REPL) {
                if (pyexec_raw_repl() != 0) {
                    break;
                }
            } else {
                if (pyexec_friendly_repl() != 0) {
                    break;
                }
            }
        }

        mp_printf(&mp_plat_print, "MPY: soft reboot\n");
        #if MICROPY_PY_BLUETOOTH
        mp_bluetooth_deinit();
        #endif
        soft_timer_deinit();
        gc_sweep_all();
        mp_deinit();
    }
}

void gc_collect(void) {
    gc_collect_start();
    gc_helper_collect_regs_and_stack();
    soft_timer_gc_mark_all();
    gc_collect_end();
}

void nlr_jump_fail(void *val) {
    mp_printf(&mp_plat_print, "uncaught NLR\n");
    exit(1);
}

// The Rust backend's panic handler ends here (it never expects to): say so
// on the console and leave QEMU with a failure status.
void abort(void) {
    mp_printf(&mp_plat_print, "abort\n");
    exit(1);
}
