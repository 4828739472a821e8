// Runs inside a sandboxed container and reports, as one JSON line on stdout, what the
// sandbox let it do. Built static so it needs nothing from the image. `probe all` runs
// every probe, prints the line, then (unless given "nomem") allocates memory until killed.
// `probe mem DIR`: DIR is the ledger directory's host path, probed like /ledger.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char out[65536];
static size_t used;
static int first = 1;

static void add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void add(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  used += vsnprintf(out + used, sizeof out - used, fmt, ap);
  va_end(ap);
}
static void key(const char *k) {
  add("%s\"%s\":", first ? "" : ",", k);
  first = 0;
}
static void num(const char *k, long v) { key(k); add("%ld", v); }
static void str(const char *k, const char *v) {
  key(k);
  add("\"");
  for (const char *p = v; *p; p++) add((*p == '"' || *p == '\\') ? "\\%c" : (*p < 32 ? "?" : "%c"), *p);
  add("\"");
}
/* "ok" when the call succeeded, else the errno name */
static const char *res(long r, int e) {
  if (r >= 0) return "ok";
  switch (e) {
    case EPERM: return "EPERM"; case EACCES: return "EACCES"; case EROFS: return "EROFS"; case ENOSYS: return "ENOSYS";
    case EINVAL: return "EINVAL"; case EFAULT: return "EFAULT"; case EBADF: return "EBADF"; case ESRCH: return "ESRCH";
    case ENETUNREACH: return "ENETUNREACH"; case EHOSTUNREACH: return "EHOSTUNREACH"; case EAGAIN: return "EAGAIN";
    case ENOENT: return "ENOENT"; case EAFNOSUPPORT: return "EAFNOSUPPORT"; case ETIMEDOUT: return "ETIMEDOUT";
    case ECONNREFUSED: return "ECONNREFUSED"; case ENOKEY: return "ENOKEY"; case EIO: return "EIO"; case ENOMEM: return "ENOMEM";
    case EOPNOTSUPP: return "EOPNOTSUPP"; case EINPROGRESS: return "EINPROGRESS"; case EEXIST: return "EEXIST";
    default: { static char b[16][24]; static int i; i = (i + 1) % 16; snprintf(b[i], sizeof b[i], "errno%d", e); return b[i]; }
  }
}
/* the call is made before errno is read (function arguments have no evaluation order) */
#define TRY(k, call) do { errno = 0; long r_ = (long)(call); int e_ = errno; str(k, res(r_, e_)); } while (0)

static void status_field(const char *field, const char *k) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  size_t n = strlen(field);
  if (!f) { str(k, "unreadable"); return; }
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, field, n) == 0 && line[n] == ':') {
      char *v = line + n + 1;
      while (*v == ' ' || *v == '\t') v++;
      v[strcspn(v, "\n")] = 0;
      str(k, v);
      fclose(f);
      return;
    }
  }
  fclose(f);
  str(k, "absent");
}

static long open_create(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) { long w = write(fd, "x", 1); close(fd); unlink(path); return w < 0 ? -1 : 0; }
  return -1;
}

static void net_probe(const char *k, int family, int type) {
  char kk[64];
  errno = 0;
  int s = socket(family, type | SOCK_NONBLOCK, 0);
  int se = errno;
  snprintf(kk, sizeof kk, "%s_socket", k);
  str(kk, res(s, se));
  snprintf(kk, sizeof kk, "%s_connect", k);
  if (s < 0) { str(kk, "no-socket"); return; }
  long r;
  if (family == AF_INET) {
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(53) };
    inet_pton(AF_INET, "1.1.1.1", &a.sin_addr);
    r = type == SOCK_DGRAM ? sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof a) : connect(s, (struct sockaddr *)&a, sizeof a);
  } else {
    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(53) };
    inet_pton(AF_INET6, "2606:4700:4700::1111", &a.sin6_addr);
    r = connect(s, (struct sockaddr *)&a, sizeof a);
  }
  int e = errno;
  if (r < 0 && e == EINPROGRESS) {
    struct pollfd p = { .fd = s, .events = POLLOUT };
    int n = poll(&p, 1, 3000);
    if (n == 0) { str(kk, "ETIMEDOUT"); close(s); return; }
    socklen_t l = sizeof e;
    getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &l);
    r = e ? -1 : 0;
  }
  str(kk, res(r, e));
  close(s);
}

static int interfaces(void) {
  FILE *f = fopen("/proc/net/dev", "r");
  char line[512];
  int n = 0;
  if (!f) return -1;
  while (fgets(line, sizeof line, f)) {
    char *c = strchr(line, ':');
    if (!c) continue;
    *c = 0;
    char *name = line;
    while (*name == ' ') name++;
    if (strcmp(name, "lo") != 0) n++;
  }
  fclose(f);
  return n;
}

static void fork_bomb(void) {
  pid_t kids[8192];
  int n = 0, e = 0;
  setpgid(0, 0);
  for (; n < 8192; n++) {
    pid_t p = fork();
    if (p == 0) { pause(); _exit(0); }
    if (p < 0) { e = errno; break; }
    kids[n] = p;
  }
  num("fork_children", n);
  str("fork_stop", res(-1, e));
  for (int i = 0; i < n; i++) kill(kids[i], SIGKILL);
  for (int i = 0; i < n; i++) waitpid(kids[i], NULL, 0);
}

static void blocked_syscalls(void) {
  char buf[16];
  struct iovec lv = { buf, sizeof buf }, rv = { buf, sizeof buf };
  TRY("sys_ptrace", syscall(SYS_ptrace, 0x4242, 0, 0, 0));
  TRY("sys_personality", syscall(SYS_personality, 0xffffffffUL));
  TRY("sys_keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_THREAD_KEYRING, 0));
  TRY("sys_add_key", syscall(SYS_add_key, NULL, NULL, NULL, 0, 0));
  TRY("sys_request_key", syscall(SYS_request_key, NULL, NULL, NULL, 0));
  TRY("sys_bpf", syscall(SYS_bpf, 9999, NULL, 0));
  { errno = 0; long r = syscall(SYS_userfaultfd, 1); int e = errno; if (r >= 0) close((int)r); str("sys_userfaultfd", res(r, e)); }
  TRY("sys_mount", syscall(SYS_mount, "none", "/proc", "tmpfs", 0, NULL));
  TRY("sys_umount2", syscall(SYS_umount2, "/proc", MNT_DETACH));
  TRY("sys_unshare", syscall(SYS_unshare, 0));
  TRY("sys_setns", syscall(SYS_setns, -1, 0));
  TRY("sys_perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
  TRY("sys_io_uring_setup", syscall(SYS_io_uring_setup, 0, NULL));
  TRY("sys_io_uring_enter", syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0));
  TRY("sys_io_uring_register", syscall(SYS_io_uring_register, -1, 0, NULL, 0));
  TRY("sys_process_vm_readv", syscall(SYS_process_vm_readv, getpid(), &lv, 1, &rv, 1, 0));
  { errno = 0; long r = syscall(SYS_memfd_create, "probe", 0); int e = errno; if (r >= 0) close((int)r); str("sys_memfd_create", res(r, e)); }
  TRY("sys_chroot", syscall(SYS_chroot, "/"));
  TRY("sys_pivot_root", syscall(SYS_pivot_root, "/", "/"));
  TRY("sys_kcmp", syscall(SYS_kcmp, getpid(), getpid(), 0, 0, 0));
  TRY("sys_syslog", syscall(SYS_syslog, 10, NULL, 0));
  TRY("sys_acct", syscall(SYS_acct, NULL));
  TRY("sys_mknod", syscall(SYS_mknodat, AT_FDCWD, "/scratch/n", S_IFIFO | 0600, 0));
  TRY("sys_setuid", syscall(SYS_setuid, getuid()));
  TRY("sys_modify_ldt", syscall(SYS_modify_ldt, 0, NULL, 0));
  /* a new user namespace needs no privilege: only the filter stops it */
  {
    errno = 0;
    long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (r == 0) _exit(0);
    int e = errno;
    if (r > 0) waitpid((pid_t)r, NULL, 0);
    str("sys_clone_newuser", res(r, e));
  }
  TRY("sys_clone3", syscall(435, NULL, 0));
  /* allowed: plain fork through clone (what libc does) */
  { pid_t p = fork(); if (p == 0) _exit(0); int e = errno; if (p > 0) waitpid(p, NULL, 0); str("fork", res(p, e)); }
}

static void memory_hog(void) {
  for (long mib = 1; mib <= 65536; mib++) {
    char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { dprintf(1, "{\"memory\":\"mmap failed at %ld MiB\"}\n", mib); return; }
    memset(p, 1, 1 << 20);
  }
  dprintf(1, "{\"memory\":\"survived 64 GiB\"}\n");
}

int main(int argc, char **argv) {
  int mem = !(argc > 1 && strcmp(argv[1], "nomem") == 0);
  add("{");
  num("uid", getuid()); num("euid", geteuid()); num("gid", getgid());
  status_field("CapEff", "cap_eff"); status_field("CapBnd", "cap_bnd"); status_field("CapPrm", "cap_prm");
  status_field("NoNewPrivs", "no_new_privs"); status_field("Seccomp", "seccomp_mode");
  TRY("write_rootfs", open_create("/probe-write"));
  TRY("write_tmp", open_create("/tmp/probe-write"));
  /* /var/tmp is world-writable in the image: only the read-only root stops this */
  TRY("write_var_tmp", open_create("/var/tmp/probe-write"));
  TRY("write_etc_hosts", open("/etc/hosts", O_WRONLY | O_APPEND));
  TRY("write_dev_shm", open_create("/dev/shm/probe-write"));
  TRY("write_ledger_new", open_create("/ledger/probe-write"));
  TRY("write_ledger_existing", open("/ledger/main.beancount", O_WRONLY | O_APPEND));
  TRY("read_ledger", open("/ledger/main.beancount", O_RDONLY));
  /* the same directory at its own host path, where the spec mounts it too when it is free */
  if (argc > 2) {
    char p[4096];
    snprintf(p, sizeof p, "%s/probe-write", argv[2]);
    TRY("write_ledger_host_new", open_create(p));
    snprintf(p, sizeof p, "%s/main.beancount", argv[2]);
    TRY("write_ledger_host_existing", open(p, O_WRONLY | O_APPEND));
    TRY("read_ledger_host", open(p, O_RDONLY));
  }
  TRY("write_scratch", open_create("/scratch/probe-write"));
  /* noexec scratch: a copy of this very binary cannot be run from there */
  {
    long r = -1; int e = ENOENT;
    int in = open("/proc/self/exe", O_RDONLY), o = open("/scratch/probe-copy", O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (in >= 0 && o >= 0) {
      char b[65536]; ssize_t n;
      while ((n = read(in, b, sizeof b)) > 0) if (write(o, b, n) != n) break;
      close(o); o = -1;
      pid_t p = fork();
      if (p == 0) { char *a[] = { "/scratch/probe-copy", "nomem", NULL }; execv(a[0], a); _exit(errno); }
      int st = 0; waitpid(p, &st, 0);
      e = WIFEXITED(st) ? WEXITSTATUS(st) : 0; r = e ? -1 : 0;
      unlink("/scratch/probe-copy");
    }
    if (in >= 0) close(in);
    if (o >= 0) close(o);
    str("exec_scratch", res(r, e));
  }
  num("interfaces_besides_lo", interfaces());
  net_probe("tcp4", AF_INET, SOCK_STREAM);
  net_probe("udp4", AF_INET, SOCK_DGRAM);
  net_probe("tcp6", AF_INET6, SOCK_STREAM);
  { errno = 0; int s = socket(AF_UNIX, SOCK_STREAM, 0); int e = errno; str("unix_socket", res(s, e)); if (s >= 0) close(s); }
  { errno = 0; int s = socket(AF_NETLINK, SOCK_RAW, 0); int e = errno; str("netlink_socket", res(s, e)); if (s >= 0) close(s); }
  { errno = 0; int s = socket(AF_PACKET, SOCK_RAW, 0); int e = errno; str("packet_socket", res(s, e)); if (s >= 0) close(s); }
  blocked_syscalls();
  fork_bomb();
  add("}\n");
  if (write(1, out, used) != (ssize_t)used) return 3;
  if (mem) memory_hog();
  return 0;
}
