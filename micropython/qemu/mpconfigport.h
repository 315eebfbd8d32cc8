// The project's qemu port variant: MicroPython's ports/qemu configuration,
// plus what a Bluetooth firmware needs and that configuration switches off
// unconditionally (time, select, asyncio), and a real atomic section.
#include_next <mpconfigport.h>

#undef MICROPY_PY_TIME
#define MICROPY_PY_TIME (1)
#undef MICROPY_PY_SELECT
#define MICROPY_PY_SELECT (1)
#undef MICROPY_PY_ASYNCIO
#define MICROPY_PY_ASYNCIO (1)

// MicroPython's own errno values (as on stm32, rp2 and unix), not newlib's:
// the tests compare errno numbers across machines.
#define MICROPY_USE_INTERNAL_ERRNO (1)

// Our machine module: idle() sleeps until the next interrupt.
#undef MICROPY_PY_MACHINE_INCLUDEFILE
#define MICROPY_PY_MACHINE_INCLUDEFILE "modmachine_mps2.c"

// The Bluetooth transport is polled from a static scheduler node, and the
// scheduler also carries event delivery and Ctrl-C.
#define MICROPY_SCHEDULER_STATIC_NODES (1)
#define MICROPY_SCHEDULER_DEPTH (8)

#define MICROPY_PY_RANDOM_SEED_INIT_FUNC (mps2_random_seed())

// Interrupts and the scheduler share state: atomic sections mask interrupts.
#define MICROPY_BEGIN_ATOMIC_SECTION() mps2_irq_disable()
#define MICROPY_END_ATOMIC_SECTION(state) mps2_irq_restore(state)

// The soft timer's heap is touched from PendSV and from Python.
#define MICROPY_PY_PENDSV_ENTER uint32_t pendsv_state = mps2_irq_disable()
#define MICROPY_PY_PENDSV_EXIT mps2_irq_restore(pendsv_state)

// Idle waits sleep until an interrupt (SysTick bounds every sleep to 1 ms).
#define MICROPY_INTERNAL_WFE(TIMEOUT_MS) mps2_wait_for_interrupt()

#ifndef __ASSEMBLER__
#include <stdint.h>

static inline uint32_t mps2_irq_disable(void) {
    uint32_t state;
    __asm volatile ("mrs %0, primask\n cpsid i" : "=r" (state) : : "memory");
    return state;
}

static inline void mps2_irq_restore(uint32_t state) {
    __asm volatile ("msr primask, %0" : : "r" (state) : "memory");
}

void mps2_wait_for_interrupt(void);
uint32_t mps2_random_seed(void);
#endif
