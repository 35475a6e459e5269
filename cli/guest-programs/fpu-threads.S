# fpu-threads: two UML processes share one address space (clone CLONE_VM), so UML runs both in one host
# process and must switch their FPU/SSE registers itself. Each keeps its own value in xmm0 and st0
# across 200 sched_yield()s; exit 0 if both kept theirs, else 1 (parent) or the child's failure.
  .include "fpu.inc"
  .code32
  .globl _start
_start:
  # stack for the child: mmap2(0, 4096, RW, PRIVATE|ANON, -1, 0)
  mov $192, %eax
  xor %ebx, %ebx
  mov $4096, %ecx
  mov $3, %edx
  mov $0x22, %esi
  mov $-1, %edi
  xor %ebp, %ebp
  int $0x80
  lea 4096(%eax), %ecx        # child stack top
  # clone(CLONE_VM | SIGCHLD, stack)
  mov $120, %eax
  mov $0x00000111, %ebx       # CLONE_VM (0x100) | SIGCHLD (17)
  xor %edx, %edx
  xor %esi, %esi
  xor %edi, %edi
  int $0x80
  test %eax, %eax
  jz child
  mov %eax, %ebp              # child's pid
  mov $0x11111111, %edx
  call run                    # eax = 0 if kept
  mov %eax, %esi
  # wait4(pid, &status on stack, 0, 0)
  sub $4, %esp
  mov $114, %eax
  mov %ebp, %ebx
  mov %esp, %ecx
  xor %edx, %edx
  push %esi
  xor %esi, %esi
  int $0x80
  pop %esi
  pop %ebx                    # status
  shr $8, %ebx                # child's exit code
  or %esi, %ebx
  mov $1, %eax
  int $0x80
child:
  mov $0x22222222, %edx
  call run
  mov %eax, %ebx
  mov $1, %eax
  int $0x80
# run: puts edx in every dword of xmm0 and edx (as an integer) in st0, yields 200 times, and checks
# both after each; eax = 0 if they held, 1 if not.
run:
  sub $16, %esp
  fpu_load
  mov $200, %edi
1:
  mov $158, %eax              # sched_yield
  int $0x80
  fpu_check 2f
  dec %edi
  jnz 1b
  xor %eax, %eax
  add $16, %esp
  ret
2:
  mov $1, %eax
  add $16, %esp
  ret
