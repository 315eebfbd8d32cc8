// HAL of the project's qemu port variant: time from the MPS2 dual timer,
// the console on CMSDK UART0 with an interrupt-driven receive ring.
#include <stddef.h>
#include <stdint.h>
#include "shared/runtime/interrupt_char.h"

// The Cortex-M vector table lives in RAM so drivers can install handlers.
#define MPS2_IRQ_UART0_RX (0)
#define MPS2_IRQ_UART1_RX (2)
#define MPS2_IRQ_UART1_TX (3)

typedef void (*mps2_handler_t)(void);
// Installs `handler` for external interrupt `irq` at `priority` (0 highest,
// 255 lowest) and enables it.
void mps2_irq_install(int irq, mps2_handler_t handler, uint8_t priority);
void mps2_irq_enable(int irq, int enable);

// After taking bytes from a UART: lets QEMU deliver the next one at once.
void mps2_uart_rx_kick(void);

// Microseconds since boot, 64 bits wide (the dual timer, extended).
uint64_t mps2_time_us(void);
