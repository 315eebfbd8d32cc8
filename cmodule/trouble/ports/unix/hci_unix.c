// Unix transport: H4 over the tty named by MICROPYBTUART (a virtual-radio pty
// or a UART HCI controller), or a Linux HCI user channel when it names "hciN".
//
// A pthread drives the stack: it sleeps in poll() on the HCI fd and an
// eventfd until bytes arrive, a request is posted, or the stack's next timer
// is due, then runs mp_bluetooth_hci_poll(). So the stack progresses while
// Python blocks, and an idle stack costs no CPU.
//
// Events reach Python through the scheduler, which a thread blocked in poll(),
// a sleep or a read of stdin only runs when that call returns. So once a
// delivery is scheduled, the poll thread interrupts the Python thread with a
// signal: MicroPython retries such calls on EINTR after running the scheduler
// (PEP 475), so events arrive at once instead of when a timeout expires.
#include "py/mpconfig.h"

#if MICROPY_PY_BLUETOOTH && MICROPY_BLUETOOTH_TROUBLE

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "py/runtime.h"
#include "py/mperrno.h"
#include "py/mphal.h"
#include "extmod/mpbthci.h"
#include "trouble_port.h"

void mp_bluetooth_hci_poll(void);

static int hci_fd = -1;
static bool hci_hung_up;
static int wake_fd = -1;
static pthread_t poll_thread_id;
static pthread_t python_thread_id;
static volatile bool running;

// MicroPython's unix port takes SIGRTMIN + 5 for its GC; this is the next one.
#define TROUBLE_NUDGE_SIGNAL (SIGRTMIN + 6)

static void nudge_handler(int signo) {
    // Nothing to do: the interrupted system call returns EINTR, which is the point.
    (void)signo;
}

// Large enough for one HCI user-channel packet (one packet per read()).
static uint8_t rx_buf[1100];
static size_t rx_len, rx_pos;

// Linux's HCI user channel (linux/bluetooth.h is not always installed).
#define TROUBLE_AF_BLUETOOTH 31
#define TROUBLE_BTPROTO_HCI 1
#define TROUBLE_HCI_CHANNEL_USER 1
struct trouble_sockaddr_hci {
    sa_family_t hci_family;
    unsigned short hci_dev;
    unsigned short hci_channel;
};

static int open_user_channel(int dev) {
    int fd = socket(TROUBLE_AF_BLUETOOTH, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, TROUBLE_BTPROTO_HCI);
    if (fd < 0) {
        return -1;
    }
    struct trouble_sockaddr_hci addr = { TROUBLE_AF_BLUETOOTH, (unsigned short)dev, TROUBLE_HCI_CHANNEL_USER };
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int open_tty(const char *path) {
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        t.c_cflag |= CREAD | CLOCAL;
        t.c_cflag &= ~(CSTOPB | PARENB | CRTSCTS);
        tcsetattr(fd, TCSANOW, &t);
        // Bytes from a previous session would desynchronise the framing.
        tcflush(fd, TCIOFLUSH);
    }
    return fd;
}

int mp_bluetooth_hci_uart_init(uint32_t port, uint32_t baudrate) {
    (void)port;
    (void)baudrate;
    const char *name = getenv("MICROPYBTUART");
    if (name == NULL || *name == '\0') {
        return -1;
    }
    char *end;
    if (strncmp(name, "hci", 3) == 0 && name[3] != '\0' && (strtol(name + 3, &end, 10), *end == '\0')) {
        hci_fd = open_user_channel((int)strtol(name + 3, NULL, 10));
    } else {
        hci_fd = open_tty(name);
    }
    rx_len = rx_pos = 0;
    hci_hung_up = false;
    return hci_fd < 0 ? -1 : 0;
}

int mp_bluetooth_hci_uart_deinit(void) {
    if (hci_fd >= 0) {
        close(hci_fd);
        hci_fd = -1;
    }
    return 0;
}

int mp_bluetooth_hci_uart_set_baudrate(uint32_t baudrate) {
    (void)baudrate;
    return 0;
}

int mp_bluetooth_hci_uart_any(void) {
    return rx_pos < rx_len;
}

int mp_bluetooth_hci_uart_write(const uint8_t *buf, size_t len) {
    while (len > 0 && hci_fd >= 0) {
        ssize_t n = write(hci_fd, buf, len);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd p = { hci_fd, POLLOUT, 0 };
            if (poll(&p, 1, 1000) <= 0) {
                return -1;
            }
        } else {
            return -1;
        }
    }
    return len == 0 ? 0 : -1;
}

int mp_bluetooth_hci_uart_readchar(void) {
    if (rx_pos == rx_len) {
        if (hci_fd < 0) {
            return -1;
        }
        ssize_t n = read(hci_fd, rx_buf, sizeof(rx_buf));
        if (n <= 0) {
            return -1;
        }
        rx_len = (size_t)n;
        rx_pos = 0;
    }
    return rx_buf[rx_pos++];
}

static void *poll_thread(void *arg) {
    (void)arg;
    while (running) {
        mp_bluetooth_hci_poll();
        int64_t us = mp_trouble_next_timeout_us();
        // Bytes left in rx_buf mean the stack paused reading on purpose (a
        // full ATT inbox); it asks for the next poll itself when it resumes.
        int timeout_ms = us < 0 ? -1 : (int)((us + 999) / 1000);
        struct pollfd fds[2] = {
            { hci_hung_up ? -1 : hci_fd, POLLIN, 0 },
            { wake_fd, POLLIN, 0 },
        };
        poll(fds, 2, timeout_ms);
        if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL) && !(fds[0].revents & POLLIN)) {
            // The controller went away; keep serving timers so requests fail cleanly.
            hci_hung_up = true;
        }
        if (fds[1].revents & POLLIN) {
            uint64_t v;
            (void)!read(wake_fd, &v, sizeof(v));
        }
    }
    return NULL;
}

int mp_trouble_port_start(void) {
    // Made here, on the Python thread, before the poll thread can signal it.
    mp_trouble_port_waker_fd();
    wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd < 0) {
        return MP_ENOMEM;
    }
    // No SA_RESTART: the point is to make the blocked call return.
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = nudge_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(TROUBLE_NUDGE_SIGNAL, &sa, NULL);
    python_thread_id = pthread_self();
    running = true;
    // The poll thread takes no signals: MicroPython's handlers (Ctrl-C above
    // all) must run on a MicroPython thread. It inherits this mask.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    int r = pthread_create(&poll_thread_id, NULL, poll_thread, NULL);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (r != 0) {
        running = false;
        close(wake_fd);
        wake_fd = -1;
        return MP_ENOMEM;
    }
    return 0;
}

void mp_trouble_port_stop(void) {
    if (!running) {
        return;
    }
    running = false;
    mp_trouble_port_wake();
    pthread_join(poll_thread_id, NULL);
    close(wake_fd);
    wake_fd = -1;
}

void mp_trouble_port_wake(void) {
    if (wake_fd >= 0) {
        uint64_t one = 1;
        (void)!write(wake_fd, &one, sizeof(one));
    }
}

void mp_trouble_port_nudge_python(void) {
    if (running && !pthread_equal(pthread_self(), python_thread_id)) {
        pthread_kill(python_thread_id, TROUBLE_NUDGE_SIGNAL);
    }
}

// One eventfd for every _trouble.Waker: readable while one is set, or a
// delivery was scheduled (a spurious wake-up of a waiter costs it one more
// check of its flag).
static int waker_fd = -1;

int mp_trouble_port_waker_fd(void) {
    if (waker_fd < 0) {
        waker_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    return waker_fd;
}

void mp_trouble_port_waker_signal(bool set) {
    int fd = mp_trouble_port_waker_fd();
    if (fd < 0) {
        return;
    }
    uint64_t v = 1;
    if (set) {
        (void)!write(fd, &v, sizeof(v));
    } else {
        (void)!read(fd, &v, sizeof(v));
    }
}

void mp_trouble_port_wait_ms(uint32_t ms) {
    mp_hal_delay_ms(ms);
}

void mp_trouble_random(uint8_t *buf, size_t len) {
    mp_hal_get_random(len, buf);
}

#endif
