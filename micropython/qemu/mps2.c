// The MPS2 board (AN385/AN500 as QEMU models them): vector table in RAM,
// time from the dual timer, SysTick as the 1 ms heartbeat of the soft timer
// and of idle waits, PendSV running the soft timer.
#include <string.h>

#include "py/runtime.h"
#include "py/mphal.h"
#include "shared/runtime/softtimer.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

#define SCB_ICSR REG(0xe000ed04)
#define SCB_VTOR REG(0xe000ed08)
#define SCB_SHPR3 REG(0xe000ed20)
#define SCB_CPACR REG(0xe000ed88)
#define SYST_CSR REG(0xe000e010)
#define SYST_RVR REG(0xe000e014)
#define NVIC_ISER(n) REG(0xe000e100 + 4 * (n))
#define NVIC_ICER(n) REG(0xe000e180 + 4 * (n))
#define NVIC_IPR ((volatile uint8_t *)0xe000e400)

#define ICSR_PENDSVSET (1u << 28)

// CMSDK APB dual timer, timer 1: free-running 32-bit down counter at SYSCLK.
#define DUALTIMER1_LOAD REG(0x40002000)
#define DUALTIMER1_VALUE REG(0x40002004)
#define DUALTIMER1_CONTROL REG(0x40002008)
#define DUALTIMER2_LOAD REG(0x40002020)
#define DUALTIMER2_CONTROL REG(0x40002028)
#define DUALTIMER_ENABLE (1u << 7)
#define DUALTIMER_32BIT (1u << 1)
#define DUALTIMER_ONESHOT (1u << 0)

#define SYSCLK_HZ (25000000u)
#define CYCLES_PER_US (SYSCLK_HZ / 1000000u)

// 16 system exceptions and the 32 interrupts of AN385/AN500. VTOR needs the
// table aligned to its size rounded up to a power of two.
#define NUM_VECTORS (16 + 32)
static mps2_handler_t vectors[NUM_VECTORS] __attribute__((aligned(256)));

extern const uint32_t isr_vector[];
NORETURN void Default_Handler(void);

static uint64_t cycles_high;
static uint32_t cycles_last;

// Timer cycles since boot. The 32-bit counter wraps every 171 s; SysTick
// samples it every millisecond, so no wrap is ever missed.
static uint64_t cycles(void) {
    uint32_t state = mps2_irq_disable();
    uint32_t raw = ~DUALTIMER1_VALUE;
    cycles_high += (uint32_t)(raw - cycles_last);
    cycles_last = raw;
    uint64_t c = cycles_high;
    mps2_irq_restore(state);
    return c;
}

uint64_t mps2_time_us(void) {
    return cycles() / CYCLES_PER_US;
}

mp_uint_t mp_hal_ticks_us(void) {
    return (mp_uint_t)mps2_time_us();
}

mp_uint_t mp_hal_ticks_ms(void) {
    return (mp_uint_t)(mps2_time_us() / 1000);
}

mp_uint_t mp_hal_ticks_cpu(void) {
    return (mp_uint_t)cycles();
}

uint64_t mp_hal_time_ns(void) {
    return mps2_time_us() * 1000;
}

void mp_hal_delay_us(mp_uint_t us) {
    uint64_t end = mps2_time_us() + us;
    while (mps2_time_us() < end) {
    }
}

// Runs the scheduler (and with it the Bluetooth stack and event delivery)
// while waiting; Ctrl-C raises KeyboardInterrupt from here.
void mp_hal_delay_ms(mp_uint_t ms) {
    uint64_t start = mps2_time_us();
    uint64_t end = start + (uint64_t)ms * 1000;
    for (;;) {
        uint64_t now = mps2_time_us();
        if (now >= end) {
            break;
        }
        mp_event_wait_ms((mp_uint_t)((end - now + 999) / 1000));
    }
}

// Sleeps until the next interrupt unless the scheduler already has work;
// masking first closes the window between that check and WFI (a pending
// interrupt still ends WFI while masked).
void mps2_wait_for_interrupt(void) {
    uint32_t state = mps2_irq_disable();
    if (MP_STATE_VM(sched_state) != MP_SCHED_PENDING) {
        __asm volatile ("wfi");
    }
    mps2_irq_restore(state);
}

// QEMU's CMSDK UART model doesn't tell QEMU's main loop when the guest has
// read the receive register, so the next byte would wait for the main loop's
// next wake-up (often the next SysTick: ~1 byte/ms). Re-arming a timer due
// in one microsecond wakes it at once. One-shot, no interrupt: nothing else
// happens. A real board needs none of this.
void mps2_uart_rx_kick(void) {
    // A one-shot timer that has run down restarts only on a fresh enable.
    DUALTIMER2_CONTROL = 0;
    DUALTIMER2_LOAD = 1;
    DUALTIMER2_CONTROL = DUALTIMER_ENABLE | DUALTIMER_32BIT | DUALTIMER_ONESHOT;
}

// The soft timer (shared/runtime/softtimer.c) on our millisecond ticks.
static volatile uint32_t soft_timer_due_ms;
static volatile bool soft_timer_armed;

uint32_t soft_timer_get_ms(void) {
    return mp_hal_ticks_ms();
}

void soft_timer_schedule_at_ms(uint32_t ticks_ms) {
    uint32_t state = mps2_irq_disable();
    if ((int32_t)(ticks_ms - mp_hal_ticks_ms()) <= 0) {
        soft_timer_armed = false;
        SCB_ICSR = ICSR_PENDSVSET;
    } else {
        soft_timer_due_ms = ticks_ms;
        soft_timer_armed = true;
    }
    mps2_irq_restore(state);
}

static void systick_handler(void) {
    uint32_t now = mp_hal_ticks_ms();
    if (soft_timer_armed && (int32_t)(now - soft_timer_due_ms) >= 0) {
        soft_timer_armed = false;
        SCB_ICSR = ICSR_PENDSVSET;
    }
}

static void pendsv_handler(void) {
    soft_timer_handler();
}

void mps2_irq_enable(int irq, int enable) {
    if (enable) {
        NVIC_ISER(irq / 32) = 1u << (irq % 32);
    } else {
        NVIC_ICER(irq / 32) = 1u << (irq % 32);
        __asm volatile ("dsb\n isb" : : : "memory");
    }
}

void mps2_irq_install(int irq, mps2_handler_t handler, uint8_t priority) {
    mps2_irq_enable(irq, 0);
    vectors[16 + irq] = handler;
    NVIC_IPR[irq] = priority;
    mps2_irq_enable(irq, 1);
}

uint32_t mps2_random_seed(void) {
    return (uint32_t)cycles() ^ 0x9e3779b9u;
}

// Called first thing in main(), before anything may use the FPU or a timer.
void mps2_init(void) {
    #if defined(__ARM_FP)
    SCB_CPACR |= 0xfu << 20; // CP10 and CP11: full access
    __asm volatile ("dsb\n isb" : : : "memory");
    #endif

    memcpy(vectors, isr_vector, 16 * sizeof(uint32_t));
    for (int i = 16; i < NUM_VECTORS; ++i) {
        vectors[i] = (mps2_handler_t)Default_Handler;
    }
    vectors[14] = pendsv_handler;
    vectors[15] = systick_handler;
    SCB_VTOR = (uint32_t)vectors;
    __asm volatile ("dsb\n isb" : : : "memory");

    DUALTIMER1_LOAD = 0xffffffffu;
    DUALTIMER1_CONTROL = DUALTIMER_ENABLE | DUALTIMER_32BIT;
    DUALTIMER2_CONTROL = DUALTIMER_ENABLE | DUALTIMER_32BIT | DUALTIMER_ONESHOT;

    // PendSV lowest, SysTick just above it: both only hand work on.
    SCB_SHPR3 = (0xc0u << 24) | (0xe0u << 16);
    SYST_RVR = SYSCLK_HZ / 1000 - 1;
    SYST_CSR = 7; // processor clock, interrupt, enable
}
