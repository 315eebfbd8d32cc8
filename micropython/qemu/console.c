// The REPL on CMSDK UART0: received bytes go into a ring from the receive
// interrupt, so Ctrl-C interrupts running code and a blocked read sleeps.
#include "py/runtime.h"
#include "py/mphal.h"
#include "py/stream.h"
#include "shared/runtime/interrupt_char.h"
#include "uart.h"

void mps2_report_stack_peak(void);

#define UART0_BASE (0x40004000u)
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x0))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x4))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x8))
#define UART_INTSTATUS (*(volatile uint32_t *)(UART0_BASE + 0xc))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10))

#define STATE_TX_FULL (1u << 0)
#define STATE_RX_FULL (1u << 1)
#define CTRL_TX_EN (1u << 0)
#define CTRL_RX_EN (1u << 1)
#define CTRL_RX_IRQ (1u << 3)
#define INT_RX (1u << 1)

// A power of two; the receiver leaves bytes in the UART while it is full
// (QEMU then stops reading the host side), so nothing is dropped.
#define RX_RING_SIZE (512u)
static uint8_t rx_ring[RX_RING_SIZE];
static volatile uint32_t rx_head, rx_tail;

static bool ring_full(void) {
    return rx_head - rx_tail == RX_RING_SIZE;
}

// Moves bytes from the UART into the ring; Ctrl-C (when armed) becomes a
// KeyboardInterrupt instead. Stops taking bytes while the ring is full.
static void rx_drain(void) {
    while ((UART_STATE & STATE_RX_FULL) && !ring_full()) {
        int c = UART_DATA & 0xff;
        if (c == mp_interrupt_char) {
            mp_sched_keyboard_interrupt();
        } else {
            rx_ring[rx_head % RX_RING_SIZE] = c;
            rx_head = rx_head + 1;
        }
        mps2_uart_rx_kick();
    }
    if (ring_full()) {
        UART_CTRL &= ~CTRL_RX_IRQ;
    }
}

static void uart0_rx_handler(void) {
    UART_INTSTATUS = INT_RX;
    rx_drain();
}

// Called by the port's start-up code before main(); interrupts come later
// (console_init), once the vector table is in RAM.
void uart_init(void) {
    UART_BAUDDIV = 16;
    UART_CTRL = CTRL_TX_EN | CTRL_RX_EN;
}

void console_init(void) {
    rx_head = rx_tail = 0;
    UART_CTRL = CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_IRQ;
    mps2_irq_install(MPS2_IRQ_UART0_RX, uart0_rx_handler, 0x80);
    // A byte that arrived before the interrupt was enabled raised none.
    uint32_t state = mps2_irq_disable();
    rx_drain();
    mps2_irq_restore(state);
}

int uart_rx_chr(void) {
    uint32_t state = mps2_irq_disable();
    int c = UART_RX_NO_CHAR;
    if (rx_head != rx_tail) {
        c = rx_ring[rx_tail % RX_RING_SIZE];
        rx_tail = rx_tail + 1;
        if (!(UART_CTRL & CTRL_RX_IRQ)) {
            // The ring had filled: take what waits in the UART, then let
            // the interrupt deliver the rest.
            rx_drain();
            if (!ring_full()) {
                UART_CTRL |= CTRL_RX_IRQ;
            }
        }
    }
    mps2_irq_restore(state);
    return c;
}

void uart_tx_strn(const char *buf, size_t len) {
    for (size_t i = 0; i < len; ++i) {
        while (UART_STATE & STATE_TX_FULL) {
        }
        UART_DATA = (uint8_t)buf[i];
    }
}

int mp_hal_stdin_rx_chr(void) {
    for (;;) {
        int c = uart_rx_chr();
        if (c != UART_RX_NO_CHAR) {
            return c;
        }
        mps2_report_stack_peak();
        mp_event_wait_indefinite();
    }
}

mp_uint_t mp_hal_stdout_tx_strn(const char *str, size_t len) {
    uart_tx_strn(str, len);
    return len;
}

uintptr_t mp_hal_stdio_poll(uintptr_t poll_flags) {
    uintptr_t ret = 0;
    if ((poll_flags & MP_STREAM_POLL_RD) && rx_head != rx_tail) {
        ret |= MP_STREAM_POLL_RD;
    }
    if (poll_flags & MP_STREAM_POLL_WR) {
        ret |= MP_STREAM_POLL_WR;
    }
    return ret;
}
