/* The stand-in engine's `terraform` as a small native process: it hands its arguments, working
 * directory and environment to the fake engine served by the test process (FAKE_TF_SOCKET, see
 * fake_engine_server.py) and plays back what that answers: output on fd 1 and fd 2 as it comes, then
 * the exit code. To the tool under test it is what a real engine is: a separate process with its own
 * pid, pipes and exit status. Starting a Python interpreter per call cost ~24 ms; this costs ~1 ms.
 *
 * A run that has to behave like a Go binary under signals (FAKE_TF_SLOW), or any run without a
 * server, becomes the Python stand-in itself (execv), so signal handling is never emulated here.
 *
 * Built by the tests at session start: cc -O2 -DPYTHON='"..."' -DSCRIPT='"..."'.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

static void fall_back(char **argv) {
    int argc = 0;
    while (argv[argc]) argc++;
    char **args = calloc((size_t)argc + 4, sizeof(char *));
    if (!args) _exit(70);
    args[0] = PYTHON;
    args[1] = "-S";
    args[2] = SCRIPT;
    for (int i = 1; i < argc; i++) args[i + 2] = argv[i];
    execv(PYTHON, args);
    perror("fake engine: cannot start " PYTHON);
    _exit(70);
}

static int send_all(int fd, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int recv_all(int fd, char *data, size_t len) {
    while (len > 0) {
        ssize_t n = read(fd, data, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One field of the request: its bytes and a NUL (arguments and environment entries hold no NUL). */
static int send_field(int fd, const char *text) { return send_all(fd, text, strlen(text) + 1); }

int main(int argc, char **argv) {
    const char *path = getenv("FAKE_TF_SOCKET");
    const char *slow = getenv("FAKE_TF_SLOW");
    if (!path || !*path || (slow && *slow)) fall_back(argv);

    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) fall_back(argv);
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) fall_back(argv);

    char cwd[4096], count[16];
    if (!getcwd(cwd, sizeof(cwd))) return 70;
    snprintf(count, sizeof(count), "%d", argc - 1);
    int bad = send_field(fd, cwd) || send_field(fd, count);
    for (int i = 1; i < argc && !bad; i++) bad = send_field(fd, argv[i]);
    for (char **e = environ; *e && !bad; e++) bad = send_field(fd, *e);
    if (bad || shutdown(fd, SHUT_WR) != 0) return 70;

    /* Frames: a tag ('1' stdout, '2' stderr, 'x' exit), a big-endian 32-bit length or code, the data. */
    for (;;) {
        unsigned char head[5];
        if (recv_all(fd, (char *)head, sizeof(head)) != 0) return 70;
        uint32_t value = (uint32_t)head[1] << 24 | (uint32_t)head[2] << 16 | (uint32_t)head[3] << 8 | head[4];
        if (head[0] == 'x') return (int)value;
        char *data = malloc(value ? value : 1);
        if (!data || recv_all(fd, data, value) != 0) return 70;
        /* A reader that went away (the tool stopped reading) ends this process, as it would the engine. */
        if (send_all(head[0] == '2' ? 2 : 1, data, value) != 0) return 1;
        free(data);
    }
}
