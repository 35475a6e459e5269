# fpu-ptrace: a tracer reads and writes its stopped child's FPU/SSE registers, as gdb does, and keeps its
# own. The child stops with 0x55555555 in xmm0 and st0; the tracer holds 0x77777777 in its own. Exit 0 if
# PTRACE_GETFPXREGS shows the child's xmm0, PTRACE_GETFPREGS the same st0, the child resumes with the
# xmm0 PTRACE_SETFPXREGS and the st0 PTRACE_SETFPREGS wrote (0x66666666), and the tracer's own registers
# are untouched; else 1 (the child's values), 2 (wait), 3 (the FXSR requests), 4 (the i387 ones) or 5.
  .include "fpu.inc"
  .code32
  .globl _start
_start:
  mov $2, %eax                # fork
  int $0x80
  test %eax, %eax
  jz child
  mov %eax, %ebp              # child's pid
  sub $16, %esp
  mov $0x77777777, %edx
  fpu_load
  # 512 bytes of FXSR area, 108 of i387 area, the wait status
  sub $640, %esp
  call wait_child
  mov $3, %edi                # the FXSR requests' failures
  mov $18, %ebx               # PTRACE_GETFPXREGS
  mov %esp, %esi
  call trace
  mov $3, %ebx
  cmpl $0x55555555, 160(%esp) # xmm0's first and last dwords
  jne exit
  cmpl $0x55555555, 172(%esp)
  jne exit
  mov $4, %edi                # the i387 requests' failures
  mov $14, %ebx               # PTRACE_GETFPREGS
  lea 512(%esp), %esi
  call trace
  # st0: 10 bytes at 32 in the FXSR area, at 28 in the i387 one
  mov $4, %ebx
  mov 32(%esp), %eax
  cmp 540(%esp), %eax
  jne exit
  mov 36(%esp), %eax
  cmp 544(%esp), %eax
  jne exit
  movw 40(%esp), %ax
  cmpw 548(%esp), %ax
  jne exit
  movl $0x66666666, 160(%esp)
  movl $0x66666666, 164(%esp)
  movl $0x66666666, 168(%esp)
  movl $0x66666666, 172(%esp)
  mov $3, %edi
  mov $19, %ebx               # PTRACE_SETFPXREGS
  mov %esp, %esi
  call trace
  # st0 = 0x66666666 as an 80-bit extended: mantissa 0xcccccccc00000000, exponent 0x3fff + 30
  movl $0, 540(%esp)
  movl $0xcccccccc, 544(%esp)
  movw $0x401d, 548(%esp)
  mov $4, %edi
  mov $15, %ebx               # PTRACE_SETFPREGS
  lea 512(%esp), %esi
  call trace
  mov $2, %edi
  mov $7, %ebx                # PTRACE_CONT, no signal
  xor %esi, %esi
  call trace
  call wait_child
  mov 636(%esp), %ebx         # the child's exit status
  shr $8, %ebx
  and $0xff, %ebx
  test %ebx, %ebx
  jnz exit
  add $640, %esp
  mov $0x77777777, %edx
  mov $5, %ebx
  fpu_check exit
  xor %ebx, %ebx
exit:
  mov $1, %eax
  int $0x80

# ptrace(ebx, ebp, 0, esi); exits with edi if it fails
trace:
  mov $26, %eax
  mov %ebp, %ecx
  xor %edx, %edx
  int $0x80
  mov %edi, %ebx
  test %eax, %eax
  jnz exit
  ret

# waitpid(ebp, status at the caller's 636(%esp), 0); exits 2 on an error
wait_child:
  mov $7, %eax
  mov %ebp, %ebx
  lea 640(%esp), %ecx         # 636 in the caller's frame, 4 more for the return address
  xor %edx, %edx
  int $0x80
  mov $2, %ebx
  cmp %ebp, %eax
  jne exit
  ret

child:
  mov $26, %eax               # ptrace(PTRACE_TRACEME)
  xor %ebx, %ebx
  int $0x80
  sub $16, %esp
  mov $0x55555555, %edx
  fpu_load
  mov $20, %eax               # kill(getpid(), SIGSTOP)
  int $0x80
  mov %eax, %ebx
  mov $37, %eax
  mov $19, %ecx
  int $0x80
  mov $0x66666666, %edx
  mov $1, %ebx
  fpu_check exit
  xor %ebx, %ebx
  jmp exit
