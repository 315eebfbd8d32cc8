# QEMU mps2-an385: Cortex-M3, no FPU.
QEMU_MACHINE = mps2-an385
CFLAGS += -mthumb -mcpu=cortex-m3 -mfloat-abi=soft
CFLAGS += -DMICROPY_HW_MCU_NAME='"Cortex-M3"'
MPY_CROSS_FLAGS += -march=armv7m
TROUBLE_TARGET = thumbv7m-none-eabi
