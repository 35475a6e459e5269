// The user's editable part of UML's kernel command line, checked against UML's own option syntax
// (arch/um: ubd_kern.c, line.c/chan_kern.c, vector_kern.c, net_kern.c, physmem.c). Pure core.
//
// umlab itself always passes umid=, ubd0…=<COW>,<backing>, root=/dev/ubda rw, con0=fd:0,fd:1 (the page's
// terminal), con1=fd:3,fd:4 (the clock line), hostfs=, xterm= and the network device vec0:, so those are
// refused here. `rw` is accepted (umlab passes it too); `ro` is refused, as the lab's saved state is what
// UML writes to its root disk. Unknown words are allowed, as Linux hands them to init, but warned about.

/** The page's initial command line. */
export const DEFAULT_UML_CMDLINE = "mem=64M quiet";

/** UML's memory when mem= is absent (physmem_size in arch/um/kernel/um_arch.c). */
export const UML_DEFAULT_MEM_MIB = 64;
/** Below this, umlab's root image does not boot to a shell. */
export const MIN_MEM_MIB = 16;
/** Leaves room in UML's 4096-byte command line (COMMAND_LINE_SIZE) for umlab's own arguments. */
export const MAX_CMDLINE_LENGTH = 1024;
/** Linux panics at boot with more than 32 init arguments or environment entries (a few are its own). */
const MAX_INIT_WORDS = 30;

export interface UmlCmdlineLimits {
  /** UML's memory lives in the host's RAM: the host's RAM less what the host itself needs. */
  maxMemMiB: number;
}

export interface UmlCmdlineError {
  token: string;
  message: string;
}

export type UmlCmdline = { ok: true; args: string[]; memMiB: number; warnings?: string[] } | { ok: false; errors: UmlCmdlineError[] };

/** What one option means: refused, or accepted with an optional warning. */
type Verdict = { ok: false; message: string } | { ok: true; warning?: string; memMiB?: number; toInit?: boolean };

const refuse = (message: string): Verdict => ({ ok: false, message });
const accept = (warning?: string): Verdict => (warning === undefined ? { ok: true } : { ok: true, warning });

/** UML's line counts: MAX_TTYS in stdio_console.c, NR_PORTS in ssl.c. */
const LINE_COUNT = { con: 16, ssl: 64 } as const;
/** ubd's MAX_DEV in ubd_kern.c. */
const UBD_COUNT = 16;
const UBD_FLAGS: Readonly<Record<string, string>> = { r: "read-only", s: "synchronous writes", d: "no COW file", c: "shared, no locking", t: "no trim" };
const CHANNELS = "null, fd:N, port:N, pty, pts, tty:/dev/…, xterm";
/** Transports of the vector driver (vector_user.h, vector_user.c). */
const VECTOR_TRANSPORTS = ["tap", "hybrid", "raw", "gre", "l2tpv3", "bess", "fd"];
/** Every key the vector driver reads (vector_kern.c, vector_user.c, vector_transports.c). */
const VECTOR_KEYS = new Set([
  "transport", "ifname", "mac", "mtu", "depth", "headroom", "gro", "vec", "bpffile", "bpfflash", "ifup", "src", "dst", "srcport", "dstport",
  "udp", "v6", "fd", "rx_key", "tx_key", "sequence", "pin_sequence", "counter", "pin_counter", "cookie64", "rx_cookie", "tx_cookie", "rx_session", "tx_session",
]);
/** Transports of the legacy ethN= driver (net_kern.c and its transports). */
const ETH_TRANSPORTS = ["tuntap", "ethertap", "daemon", "mcast", "ucast", "slirp", "slip", "pcap", "vde"];
/** Words UML or Linux take as they are, so they raise no "unknown option" warning. */
const KNOWN_FLAGS = new Set(["quiet", "debug", "rw", "nosysemu", "noreboot", "ssl-non-raw", "fake_ide", "ignore_loglevel", "single", "rootwait"]);
const KNOWN_KEYS = new Set(["initrd", "iomem", "dtb", "stderr", "rootfstype", "rootflags", "rootdelay", "virtio_uml.device"]);

/** Options umlab sets itself, with why. */
const MANAGED: ReadonlyArray<{ prefix: string; exact?: boolean; why: string }> = [
  { prefix: "umid=", why: "the host's tools and mconsole find UML by the name umlab gives it" },
  { prefix: "uml_dir=", why: "umlab's host tools look for UML's umid folder in its default place" },
  { prefix: "root=", why: "umlab boots from its root disk, /dev/ubda" },
  { prefix: "ro", exact: true, why: "umlab mounts the root disk read-write, as the lab's saved state is what UML writes there" },
  { prefix: "hostfs=", why: "umlab confines hostfs to the lab's shared folder" },
  { prefix: "xterm=", why: "umlab's own xterm= turns each xterm console into a tab of the page" },
];

const isNumber = (text: string): boolean => /^(0|[1-9]\d*)$/.test(text);

/** Printable ASCII without quotes or backslashes: the line passes through the host's shell words as it is. */
function badCharacter(token: string): string | undefined {
  for (const ch of token) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x21 || code > 0x7e) return code > 0x7e ? `the non-ASCII character "${ch}"` : `a control character (code ${code})`;
    if (`"'\`\\`.includes(ch)) return `the character ${ch}`;
  }
  return undefined;
}

function checkMem(token: string, limits: UmlCmdlineLimits): Verdict {
  const m = /^mem=(\d+)([kKmMgG]?)$/.exec(token);
  if (!m?.[1]) return refuse(`\`${token}\` is not a memory size: write it like mem=128M (a number with K, M or G).`);
  const unit = (m[2] ?? "").toUpperCase();
  const bytes = Number(m[1]) * (unit === "K" ? 1024 : unit === "M" ? 1024 ** 2 : unit === "G" ? 1024 ** 3 : 1);
  const memMiB = bytes / 1024 ** 2;
  if (memMiB < MIN_MEM_MIB) return refuse(`\`${token}\` is too little memory for UML to boot umlab's root image: give at least mem=${MIN_MEM_MIB}M.`);
  if (memMiB > limits.maxMemMiB) {
    return refuse(`\`${token}\` is more than this lab allows (mem=${Math.floor(limits.maxMemMiB)}M): UML's memory lives in the host's RAM, which also holds the host itself.`);
  }
  return { ok: true, memMiB };
}

/** ubdN[flags]=file[,file[,serial]] (ubd_setup_common: N is a number or a letter, a = 0). */
function checkUbd(token: string): Verdict {
  if (token.startsWith("ubd=")) return refuse(`\`${token}\` changes every ubd disk, umlab's root disk included: give flags to your own disk instead, e.g. ubd1s=/lab/disk.img.`);
  const m = /^ubd(\d+|[a-z])([a-z]*)(=?)(.*)$/.exec(token);
  if (!m?.[1] || m[3] !== "=") return refuse(`\`${token}\` is not a ubd disk: write ubdN=<file> with N from 1 to 15, e.g. ubd1=/lab/disk.img.`);
  const [, unitText, flags = "", , files = ""] = m;
  if (/^\d/.test(unitText) && !isNumber(unitText)) return refuse(`\`${token}\`: write the disk number without leading zeros, e.g. ubd${Number.parseInt(unitText, 10)}=.`);
  const unit = /^\d/.test(unitText) ? Number(unitText) : unitText.charCodeAt(0) - 0x61;
  if (unit === 0) return refuse(`\`${token}\`: ubd0 is umlab's root disk (its COW file over the root image); use ubd1 to ubd15 for your own disks.`);
  if (unit >= UBD_COUNT) return refuse(`\`${token}\`: UML has ubd0 to ubd15 only, and ubd0 is umlab's; use ubd1 to ubd15.`);
  for (const flag of flags) {
    if (!(flag in UBD_FLAGS)) {
      const known = Object.entries(UBD_FLAGS).map(([letter, what]) => `${letter} (${what})`).join(", ");
      return refuse(`\`${token}\`: "${flag}" is not a ubd flag; the flags are ${known}.`);
    }
  }
  if (new Set(flags).size !== flags.length) return refuse(`\`${token}\`: give each ubd flag once.`);
  const parts = files.split(/[,:]/);
  const [file = "", backing = ""] = parts;
  if (parts.length > 3) return refuse(`\`${token}\`: a ubd disk takes at most a file, a backing file and a serial, separated by commas.`);
  if (file === "") return refuse(`\`${token}\` names no file: write ubd${unit}=<file> or ubd${unit}=<COW file>,<backing file>.`);
  if (flags.includes("d") && backing !== "") return refuse(`\`${token}\`: the d flag means "no COW file", so give one file only.`);
  const relative = [file, backing].filter((f) => f !== "" && !f.startsWith("/"));
  if (relative.length > 0) return accept(`\`${token}\`: ${relative.join(" and ")} is relative to the host's /root; an absolute path (e.g. under /lab) is clearer.`);
  return accept();
}

function checkChannel(token: string, channel: string): string | undefined {
  if (["null", "pty", "pts", "xterm"].includes(channel)) return undefined;
  const fd = /^fd:(\d+)$/.exec(channel);
  if (fd?.[1] !== undefined) {
    const n = Number(fd[1]);
    if (n <= 2) return `\`${token}\`: fd:${n} is the page's terminal (con0's); give this line another channel, e.g. pts or xterm.`;
    if (n <= 4) return `\`${token}\`: fd:${n} is umlab's clock line (con1's); give this line another channel, e.g. pts or xterm.`;
    return undefined;
  }
  const port = /^port:(\d+)$/.exec(channel);
  if (port?.[1] !== undefined) {
    const n = Number(port[1]);
    return n >= 1 && n <= 65535 ? undefined : `\`${token}\`: port:${port[1]} is not a TCP port (1 to 65535).`;
  }
  if (/^tty:\/dev\/[\w./-]+$/.test(channel)) return undefined;
  return `\`${token}\`: "${channel}" is not a UML channel; use one of ${CHANNELS}, or an input,output pair of them.`;
}

/** con=/conN=/ssl=/sslN= with a channel or an input,output pair (line_setup, parse_chan_pair). */
function checkLine(token: string, family: "con" | "ssl"): Verdict {
  const m = new RegExp(`^${family}(\\d*)=(.*)$`).exec(token);
  const count = LINE_COUNT[family];
  const what = family === "con" ? "console" : "serial line";
  if (!m) return refuse(`\`${token}\` is not a ${what} setting: write ${family}N=<channel>, e.g. ${family}2=pts (UML reads every option starting with "${family}" as one).`);
  const [, number = "", spec = ""] = m;
  if (number !== "") {
    if (!isNumber(number)) return refuse(`\`${token}\`: write the ${what} number without leading zeros.`);
    const n = Number(number);
    if (family === "con" && n === 0) return refuse(`\`${token}\`: con0 is the page's terminal, which umlab sets up (con0=fd:0,fd:1).`);
    if (family === "con" && n === 1) return refuse(`\`${token}\`: con1 is umlab's clock line (con1=fd:3,fd:4), which sets UML's time after a restore.`);
    if (n >= count) return refuse(`\`${token}\`: UML has ${family}0 to ${family}${count - 1} only.`);
  }
  if (spec === "none") return accept();
  if (spec === "") return refuse(`\`${token}\` gives no channel; use one of ${CHANNELS}.`);
  const channels = spec.split(",");
  if (channels.length > 2) return refuse(`\`${token}\`: a ${what} takes one channel, or an input and an output channel separated by one comma.`);
  for (const channel of channels) {
    const problem = checkChannel(token, channel);
    if (problem) return refuse(problem);
  }
  const unopened = channels.filter((c) => /^fd:\d+$/.test(c));
  if (unopened.length > 0) return accept(`\`${token}\`: the host gives UML no file descriptors besides 0 to 4, so ${unopened.join(" and ")} will not open.`);
  return accept();
}

/** vecN:key=value,… (vector_parse, uml_parse_vector_ifspec). */
function checkVector(token: string): Verdict {
  const m = /^vec(\d+):(.*)$/.exec(token);
  if (!m?.[1]) return refuse(`\`${token}\` is not a vector network device: write vecN:transport=<name>,…, e.g. vec1:transport=tap,ifname=tap1.`);
  const [, number, spec = ""] = m;
  if (!isNumber(number)) return refuse(`\`${token}\`: write the device number without leading zeros.`);
  if (number === "0") return refuse(`\`${token}\`: vec0 is umlab's network device (eth0 inside UML); use vec1 or higher.`);
  const values = new Map<string, string>();
  for (const item of spec.split(",")) {
    const kv = /^([\w]+)=([^=]*)$/.exec(item);
    if (!kv?.[1] || kv[2] === undefined) return refuse(`\`${token}\`: "${item}" is not a key=value pair; a vector device is configured as vecN:key=value,key=value.`);
    values.set(kv[1], kv[2]);
  }
  const transport = values.get("transport");
  if (transport === undefined || !VECTOR_TRANSPORTS.includes(transport)) {
    const given = transport === undefined ? "names no transport" : `has the unknown transport "${transport}"`;
    return refuse(`\`${token}\` ${given}; give transport= one of ${VECTOR_TRANSPORTS.join(", ")}.`);
  }
  const unknown = [...values.keys()].filter((key) => !VECTOR_KEYS.has(key));
  if (unknown.length > 0) return accept(`\`${token}\`: the vector driver ignores ${unknown.join(", ")}.`);
  return accept();
}

/** ethN=transport,… (eth_setup, the legacy network driver). */
function checkEth(token: string): Verdict {
  const m = /^eth(\d+)=(.*)$/.exec(token);
  if (!m?.[1]) return refuse(`\`${token}\` is not a network device: write ethN=<transport>,…, e.g. eth1=mcast (UML reads every option starting with "eth" as one).`);
  const [, number, spec = ""] = m;
  if (!isNumber(number)) return refuse(`\`${token}\`: write the device number without leading zeros.`);
  if (number === "0") return refuse(`\`${token}\`: eth0 is umlab's network device (vec0, eth0 inside UML); use eth1 or higher.`);
  const transport = spec.split(",")[0] ?? "";
  if (!ETH_TRANSPORTS.includes(transport)) return refuse(`\`${token}\`: "${transport}" is not a UML network transport; use one of ${ETH_TRANSPORTS.join(", ")}.`);
  return accept(`\`${token}\` uses UML's legacy network drivers, which UML 6.16 removed; vecN: (the vector driver) is the current form.`);
}

/**
 * One device option as UML's command line (and mconsole's `config`) takes it: ubdN…=, conN=/con=,
 * sslN=/ssl=, vecN: or ethN=. Undefined when the option is not a device option.
 */
export function checkUmlDeviceOption(token: string): { ok: true; warning?: string } | { ok: false; message: string } | undefined {
  // UML matches these families by prefix, so e.g. "config=1" is a (bad) console option.
  if (token.startsWith("udb")) return refuse(`\`${token}\` looks like a typo of ubd; UML refuses every option starting with "udb".`);
  if (token.startsWith("ubd")) return checkUbd(token);
  if (token.startsWith("con") && !token.startsWith("console=")) return checkLine(token, "con");
  if (token.startsWith("ssl") && token !== "ssl-non-raw") return checkLine(token, "ssl");
  if (token.startsWith("vec")) return checkVector(token);
  if (token.startsWith("eth")) return checkEth(token);
  return undefined;
}

function checkToken(token: string, limits: UmlCmdlineLimits): Verdict {
  const bad = badCharacter(token);
  if (bad) return refuse(`\`${token}\` contains ${bad}; UML options are printable ASCII without quotes or backslashes.`);
  if (token.startsWith("mem=")) return checkMem(token, limits);
  for (const { prefix, exact, why } of MANAGED) {
    if (exact ? token === prefix : token.startsWith(prefix)) return refuse(`\`${token}\` is umlab's to set (${why}); remove it.`);
  }
  const device = checkUmlDeviceOption(token);
  if (device) return device;
  const eq = token.indexOf("=");
  const key = eq === -1 ? token : token.slice(0, eq);
  const value = eq === -1 ? undefined : token.slice(eq + 1);
  if (key === "init" || key === "rdinit") {
    return value?.startsWith("/") ? accept() : refuse(`\`${token}\`: ${key}= needs an absolute path inside UML, e.g. ${key}=/bin/sh.`);
  }
  if (key === "loglevel") {
    return value !== undefined && /^[0-8]$/.test(value) ? accept() : refuse(`\`${token}\`: loglevel= takes 0 (emergencies only) to 8 (everything, debug messages included).`);
  }
  if (key === "panic") {
    return value !== undefined && /^-?\d+$/.test(value) ? accept() : refuse(`\`${token}\`: panic= takes seconds to wait before rebooting after a panic (0 waits forever), e.g. panic=10.`);
  }
  if (key === "console") return value ? accept() : refuse(`\`${token}\` names no console: write e.g. console=tty0.`);
  if (key === "mconsole") {
    return value?.startsWith("notify:/") ? accept() : refuse(`\`${token}\`: UML's only mconsole= option is mconsole=notify:<absolute socket path>.`);
  }
  if (eq === -1 ? KNOWN_FLAGS.has(token) : KNOWN_KEYS.has(key)) return accept();
  // Dotted keys are module parameters (e.g. printk.time=1), which Linux keeps for itself.
  if (key.includes(".") && eq !== -1) return accept();
  const goes = eq === -1 ? "as an argument" : "as an environment variable";
  return { ok: true, toInit: true, warning: `\`${token}\` is not a UML or common kernel option, so Linux passes it to init ${goes}.` };
}

/** Checks the user's part of UML's command line; `args` are its words, for the host to append. */
export function parseUmlCmdline(text: string, limits: UmlCmdlineLimits): UmlCmdline {
  const tokens = text.split(/[ \t\r\n]+/).filter((token) => token !== "");
  const errors: UmlCmdlineError[] = [];
  const warnings: string[] = [];
  let memMiB: number | undefined;
  let initWords = 0;
  for (const token of tokens) {
    const verdict = checkToken(token, limits);
    if (!verdict.ok) {
      errors.push({ token, message: verdict.message });
      continue;
    }
    if (verdict.warning) warnings.push(verdict.warning);
    if (verdict.toInit) initWords++;
    if (verdict.memMiB !== undefined) {
      if (memMiB !== undefined) errors.push({ token, message: `\`${token}\`: mem= is given twice; keep one.` });
      memMiB = verdict.memMiB;
    }
  }
  if (initWords > MAX_INIT_WORDS) errors.push({ token: "", message: `${initWords} words would pass to init, but Linux panics at boot with more than ${MAX_INIT_WORDS}; remove some.` });
  const line = formatUmlCmdline(tokens);
  if (line.length > MAX_CMDLINE_LENGTH) errors.push({ token: "", message: `The command line has ${line.length} characters; keep it within ${MAX_CMDLINE_LENGTH}, as UML's own line also holds umlab's options.` });
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, args: tokens, memMiB: memMiB ?? UML_DEFAULT_MEM_MIB, ...(warnings.length > 0 ? { warnings } : {}) };
}

/** The words as one line, as the page shows it. */
export function formatUmlCmdline(args: readonly string[]): string {
  return args.join(" ");
}
