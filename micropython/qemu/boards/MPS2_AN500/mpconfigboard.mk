# QEMU mps2-an500: Cortex-M7 with a double-precision FPU (the class of the
# STM32H7 on OpenMV cameras); same memory map and UARTs as AN385.
QEMU_MACHINE = mps2-an500
CFLAGS += -mthumb -mcpu=cortex-m7 -mfpu=fpv5-d16 -mfloat-abi=hard
CFLAGS += -DMICROPY_HW_MCU_NAME='"Cortex-M7"'
MPY_CROSS_FLAGS += -march=armv7emdp
TROUBLE_TARGET = thumbv7em-none-eabihf
