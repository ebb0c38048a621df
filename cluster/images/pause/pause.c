/*
 * Stand-in for the pod sandbox ("pause") container, registry.k8s.io/pause: it holds the pod's namespaces open and does
 * nothing else. As PID 1 of the sandbox it reaps any orphaned child re-parented to it, and it ends on SIGINT or
 * SIGTERM (exit 0), which is how the runtime stops a sandbox. Built static (gcc -static) into a FROM-scratch image.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define VERSION "3.9-number-crunch-cdk8s-stand-in"

static void on_stop(int sig) {
  /* async-signal-safe only */
  static const char msg[] = "pause: stopping on signal\n";
  (void)sig;
  (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
  _exit(0);
}

static void on_child(int sig) {
  int saved = errno;
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

static int on(int sig, void (*handler)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = sig == SIGCHLD ? SA_NOCLDSTOP | SA_RESTART : 0;
  return sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv) {
  if (argc == 2 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
    printf("pause %s\n", VERSION);
    return 0;
  }
  if (argc > 1) {
    fprintf(stderr, "pause: takes no arguments (got '%s'); use -v for the version\n", argv[1]);
    return 2;
  }
  if (getpid() != 1) {
    fprintf(stderr, "pause: warning: not PID 1, orphaned processes are not reaped here\n");
  }
  if (on(SIGINT, on_stop) || on(SIGTERM, on_stop) || on(SIGCHLD, on_child)) {
    perror("pause: sigaction");
    return 1;
  }
  for (;;) {
    pause();
  }
}
