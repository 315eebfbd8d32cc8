// QEMU MPS2 transport: H4 on CMSDK UART1 (QEMU's second -serial).
//
// The receive interrupt moves bytes into a ring and asks for a poll; the
// stack is polled from MicroPython's scheduler (a static node), never in an
// interrupt handler, and again when its next timer is due (the soft timer).
// While the ring is full the interrupt is switched off and the byte stays
// in the UART, which holds the sender back (QEMU stops reading the host side
// of a full UART), so no byte is lost at any rate.
#include "py/mpconfig.h"

#if MICROPY_PY_BLUETOOTH && MICROPY_BLUETOOTH_TROUBLE

#include "py/runtime.h"
#include "py/mperrno.h"
#include "py/mphal.h"
#include "extmod/mpbthci.h"
#include "shared/runtime/softtimer.h"
#include "trouble_port.h"

void mp_bluetooth_hci_poll(void);

#define UART1_BASE (0x40005000u)
#define UART_DATA (*(volatile uint32_t *)(UART1_BASE + 0x0))
#define UART_STATE (*(volatile uint32_t *)(UART1_BASE + 0x4))
#define UART_CTRL (*(volatile uint32_t *)(UART1_BASE + 0x8))
#define UART_INTSTATUS (*(volatile uint32_t *)(UART1_BASE + 0xc))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART1_BASE + 0x10))

#define STATE_TX_FULL (1u << 0)
#define STATE_RX_FULL (1u << 1)
#define CTRL_TX_EN (1u << 0)
#define CTRL_RX_EN (1u << 1)
#define CTRL_RX_IRQ (1u << 3)
#define INT_RX (1u << 1)

// The fastest rate the UART allows (SYSCLK / 16).
#define UART_BAUDDIV_MIN (16u)
// A write that can't get a byte out for this long fails (a stalled link).
#define TX_STALL_US (1000000u)
// Below SysTick, above the console: a byte waits at most for the console.
#define UART1_IRQ_PRIORITY (0x60)

// A power of two larger than any HCI packet.
#define RX_RING_SIZE (2048u)
static uint8_t rx_ring[RX_RING_SIZE];
static volatile uint32_t rx_head, rx_tail;

static volatile bool running;
static volatile bool poll_requested;
static bool in_poll;
static mp_sched_node_t poll_node;
static soft_timer_entry_t poll_timer;

static bool ring_full(void) {
    return rx_head - rx_tail == RX_RING_SIZE;
}

static void request_poll(void);

// Moves received bytes into the ring; with the ring full the interrupt goes
// off and the byte waits in the UART until the stack has read some.
static void rx_drain(void) {
    bool got = false;
    while ((UART_STATE & STATE_RX_FULL) && !ring_full()) {
        rx_ring[rx_head % RX_RING_SIZE] = UART_DATA & 0xff;
        rx_head = rx_head + 1;
        got = true;
    }
    if (got) {
        mps2_uart_rx_kick();
    }
    if (ring_full()) {
        UART_CTRL &= ~CTRL_RX_IRQ;
    }
    if (got) {
        request_poll();
    }
}

static void uart1_rx_handler(void) {
    UART_INTSTATUS = INT_RX;
    rx_drain();
}

int mp_bluetooth_hci_uart_init(uint32_t port, uint32_t baudrate) {
    (void)port;
    (void)baudrate;
    mps2_irq_enable(MPS2_IRQ_UART1_RX, 0);
    UART_BAUDDIV = UART_BAUDDIV_MIN;
    UART_CTRL = CTRL_TX_EN | CTRL_RX_EN;
    // A byte from a previous session would desynchronise the framing.
    while (UART_STATE & STATE_RX_FULL) {
        (void)UART_DATA;
    }
    UART_INTSTATUS = INT_RX;
    rx_head = rx_tail = 0;
    UART_CTRL = CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_IRQ;
    mps2_irq_install(MPS2_IRQ_UART1_RX, uart1_rx_handler, UART1_IRQ_PRIORITY);
    return 0;
}

int mp_bluetooth_hci_uart_deinit(void) {
    mps2_irq_enable(MPS2_IRQ_UART1_RX, 0);
    UART_CTRL = 0;
    return 0;
}

int mp_bluetooth_hci_uart_set_baudrate(uint32_t baudrate) {
    (void)baudrate;
    return 0;
}

int mp_bluetooth_hci_uart_any(void) {
    return rx_head != rx_tail;
}

int mp_bluetooth_hci_uart_write(const uint8_t *buf, size_t len) {
    for (size_t i = 0; i < len; ++i) {
        if (UART_STATE & STATE_TX_FULL) {
            uint64_t give_up = mps2_time_us() + TX_STALL_US;
            while (UART_STATE & STATE_TX_FULL) {
                if (mps2_time_us() > give_up) {
                    return -1;
                }
            }
        }
        UART_DATA = buf[i];
    }
    return 0;
}

int mp_bluetooth_hci_uart_readchar(void) {
    uint32_t state = mps2_irq_disable();
    int c = -1;
    if (rx_head != rx_tail) {
        c = rx_ring[rx_tail % RX_RING_SIZE];
        rx_tail = rx_tail + 1;
        if (!(UART_CTRL & CTRL_RX_IRQ)) {
            // The ring had filled: take the byte waiting in the UART (the
            // next one then raises the interrupt again).
            rx_drain();
            if (!ring_full()) {
                UART_CTRL |= CTRL_RX_IRQ;
            }
        }
    }
    mps2_irq_restore(state);
    return c;
}

// One poll, then the soft timer for the stack's next deadline. A stack that
// wants polling again at once gets it after 1 ms, so Python keeps running.
static void run_poll(void) {
    if (in_poll || !running) {
        return;
    }
    in_poll = true;
    poll_requested = false;
    mp_bluetooth_hci_poll();
    in_poll = false;
    int64_t us = mp_trouble_next_timeout_us();
    if (!running) {
        return;
    }
    if (us < 0) {
        soft_timer_remove(&poll_timer);
    } else {
        uint32_t ms = us == 0 ? 1 : (uint32_t)((us + 999) / 1000);
        soft_timer_reinsert(&poll_timer, ms);
    }
}

static void poll_node_callback(mp_sched_node_t *node) {
    (void)node;
    run_poll();
}

static void request_poll(void) {
    poll_requested = true;
    mp_sched_schedule_node(&poll_node, poll_node_callback);
}

// Runs at PendSV level: only hands the work to the scheduler.
static void poll_timer_callback(soft_timer_entry_t *timer) {
    (void)timer;
    if (running) {
        request_poll();
    }
}

int mp_trouble_port_start(void) {
    soft_timer_static_init(&poll_timer, SOFT_TIMER_MODE_ONE_SHOT, 0, poll_timer_callback);
    running = true;
    request_poll();
    return 0;
}

void mp_trouble_port_stop(void) {
    // A node already queued finds `running` false and returns.
    running = false;
    soft_timer_remove(&poll_timer);
}

void mp_trouble_port_wake(void) {
    if (running) {
        request_poll();
    }
}

void mp_trouble_port_nudge_python(void) {
    // The scheduler runs from every wait on this port; nothing to interrupt.
}

// C-ABI calls wait here for the stack. The scheduler is locked while a
// Python callback runs (an IRQ handler calling gap_advertise, say), so the
// stack is polled from here as well as from the node; Ctrl-C raises.
void mp_trouble_port_wait_ms(uint32_t ms) {
    uint64_t end = mps2_time_us() + (uint64_t)ms * 1000;
    for (;;) {
        if (poll_requested) {
            run_poll();
        }
        uint64_t now = mps2_time_us();
        if (now >= end) {
            break;
        }
        mp_event_wait_ms((mp_uint_t)((end - now + 999) / 1000));
    }
}

// MPS2 has no random number generator: xorshift128+ seeded from the timer
// at first use, stirred with it on every call. Good enough for addresses in
// an emulator; a board feeds its hardware RNG here instead.
static uint64_t rng_s0, rng_s1;

void mp_trouble_random(uint8_t *buf, size_t len) {
    uint64_t t = mps2_time_us();
    rng_s0 ^= t * 0x9e3779b97f4a7c15ull;
    rng_s1 ^= (t << 32) | 0x5851f42du;
    if ((rng_s0 | rng_s1) == 0) {
        rng_s1 = 1;
    }
    for (size_t i = 0; i < len; ++i) {
        uint64_t x = rng_s0, y = rng_s1;
        rng_s0 = y;
        x ^= x << 23;
        rng_s1 = x ^ y ^ (x >> 17) ^ (y >> 26);
        buf[i] = (uint8_t)((rng_s1 + y) >> 56);
    }
}

#endif
