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

// Painted at boot, so the deepest use can be read later (_mps2.stack_peak()):
// far more than the stack a board would give, so an overrun shows as a
// figure instead of a crash (QEMU's 4 MiB RAM has room).
#define STACK_PAINT (0x55aa55aau)
#define STACK_PAINT_SIZE (512 * 1024)

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

// UART2 (QEMU's third -serial) carries figures for a size report: a line
// "stack_peak N" each time the deepest stack use grew. Checked while the
// REPL waits for input, at most every 200 ms; unconnected, the UART drops it.
#define UART2_DATA (*(volatile uint32_t *)0x40006000u)
#define UART2_STATE (*(volatile uint32_t *)0x40006004u)
#define UART2_CTRL (*(volatile uint32_t *)0x40006008u)
#define UART2_BAUDDIV (*(volatile uint32_t *)0x40006010u)

static size_t stack_reported;
static uint64_t stack_checked_us;

static void report_strn(void *env, const char *str, size_t len) {
    (void)env;
    for (size_t i = 0; i < len; ++i) {
        while (UART2_STATE & 1) {
        }
        UART2_DATA = (uint8_t)str[i];
    }
}

void mps2_report_stack_peak(void) {
    uint64_t now = mps2_time_us();
    if (now - stack_checked_us < 200000) {
        return;
    }
    stack_checked_us = now;
    size_t peak = mps2_stack_peak();
    if (peak > stack_reported) {
        stack_reported = peak;
        static const mp_print_t report = { NULL, report_strn };
        mp_printf(&report, "stack_peak %u\n", (unsigned)peak);
    }
}

int main(int argc, char **argv) {
    mps2_init();
    mp_stack_ctrl_init();
    mp_stack_set_limit(MICROPY_HW_STACK_SIZE - 2048);
    stack_bottom = (uint32_t *)((uintptr_t)MP_STATE_THREAD(stack_top) - STACK_PAINT_SIZE);
    stack_paint();
    UART2_BAUDDIV = 16;
    UART2_CTRL = 1; // transmit only
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
