# fpu-signal: a signal handler that changes xmm0 and st0; after it returns (rt_sigreturn), the
# interrupted code must have its own values back. Exit 0 if so, else 1.
  .include "fpu.inc"
  .code32
  .globl _start
_start:
  call 1f
1:
  pop %esi                    # esi = address of 1b, to find handler and restorer
  # struct sigaction on the stack: handler, flags, restorer, mask (8 bytes)
  push $0
  push $0
  lea (restorer - 1b)(%esi), %eax
  push %eax
  push $0x04000004            # SA_RESTORER | SA_SIGINFO: an rt frame, for rt_sigreturn
  lea (handler - 1b)(%esi), %eax
  push %eax
  mov $174, %eax              # rt_sigaction(SIGUSR1, act, NULL, 8)
  mov $10, %ebx
  mov %esp, %ecx
  xor %edx, %edx
  mov $8, %esi
  int $0x80
  add $20, %esp
  mov $0x33333333, %edx
  sub $16, %esp
  fpu_load
  mov $20, %eax               # getpid
  int $0x80
  mov %eax, %ebx
  mov $37, %eax               # kill(getpid(), SIGUSR1)
  mov $10, %ecx
  int $0x80
  mov $0x33333333, %edx
  mov $1, %ebx
  fpu_check 2f
  xor %ebx, %ebx
2:
  mov $1, %eax
  int $0x80
handler:
  mov $0x44444444, %edx
  sub $16, %esp
  fpu_load
  fildl (%esp)                # one more push: the x87 stack's top moves as well
  add $16, %esp
  ret
restorer:
  mov $173, %eax
  int $0x80
