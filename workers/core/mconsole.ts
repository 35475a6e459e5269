// Commands for UML's management console, which the host runs as `uml_mconsole <umid> <command...>`
// (uml-utilities 20070815), and the replies it prints. The commands and their replies are those of
// arch/um/drivers/mconsole_kern.c in Linux 6.1. Pure core.
import { checkUmlDeviceOption } from "./uml-cmdline.ts";

export type McName = "version" | "help" | "halt" | "reboot" | "config" | "remove" | "sysrq" | "cad" | "stop" | "go" | "log" | "proc" | "stack";

/** What a command takes after its name. */
export type McArgument = "none" | "sysrq-key" | "device-config" | "device" | "text" | "proc-file" | "pid";

export interface McCommand {
  usage: string;
  description: string;
  argument: McArgument;
}

export const MCONSOLE_COMMANDS: Readonly<Record<McName, McCommand>> = {
  version: { usage: "version", description: "UML's kernel name, host name, release, build and machine (uname -a).", argument: "none" },
  help: { usage: "help", description: "UML's list of mconsole commands.", argument: "none" },
  halt: { usage: "halt", description: "Halts UML at once, without shutting down its programs or syncing its disks.", argument: "none" },
  reboot: { usage: "reboot", description: "Reboots UML at once, without shutting down its programs or syncing its disks.", argument: "none" },
  config: {
    usage: "config <dev>=<spec> | config <dev>",
    description: "Adds a device as on the command line (ubd1=/lab/disk.img, con2=xterm, vec1:transport=…, mem=-16M), or shows a device's setting.",
    argument: "device-config",
  },
  remove: { usage: "remove <dev>", description: "Removes a device that nothing in UML holds open, e.g. remove ubd1.", argument: "device" },
  sysrq: { usage: "sysrq <key>", description: "Runs a magic SysRq action and shows its output, e.g. m (memory), t (tasks), s (sync), b (reboot now); h lists them.", argument: "sysrq-key" },
  cad: { usage: "cad", description: "Sends Ctrl-Alt-Del to UML's init, which usually reboots cleanly.", argument: "none" },
  stop: { usage: "stop", description: "Pauses all of UML (its consoles freeze and input waits) until `go`.", argument: "none" },
  go: { usage: "go", description: "Resumes UML after `stop`.", argument: "none" },
  log: { usage: "log <text>", description: "Writes the text into UML's kernel log (dmesg), at warning level.", argument: "text" },
  proc: { usage: "proc <file>", description: "Reads a file under UML's /proc, e.g. proc meminfo or proc 1/status.", argument: "proc-file" },
  stack: { usage: "stack <pid>", description: "Shows the kernel stack of a UML process (UML's console shows it too).", argument: "pid" },
};

/** The keys UML's `sysrq h` lists (Linux 6.1, UML's config). */
export const SYSRQ_KEYS: Readonly<Record<string, string>> = {
  "0": "loglevel 0", "1": "loglevel 1", "2": "loglevel 2", "3": "loglevel 3", "4": "loglevel 4",
  "5": "loglevel 5", "6": "loglevel 6", "7": "loglevel 7", "8": "loglevel 8", "9": "loglevel 9",
  b: "reboot", c: "crash", e: "terminate all tasks", f: "memory-full OOM kill", h: "help", i: "kill all tasks", j: "thaw filesystems",
  m: "show memory usage", n: "nice all RT tasks", o: "power off", p: "show registers", q: "show all timers", s: "sync",
  t: "show task states", u: "remount read-only", w: "show blocked tasks",
};

/** UML refuses requests of MCONSOLE_MAX_DATA (512) bytes or more; uml_mconsole cuts them at 511. */
export const MAX_MCONSOLE_LINE = 511;

/** uml_mconsole's own interactive commands, which never reach UML. */
const LOCAL_COMMANDS = new Set(["quit", "switch", "int", "umlfs", "mconsole-version"]);
/** Devices umlab runs UML with, which mconsole must not replace or remove. */
const MANAGED_DEVICES: Readonly<Record<string, string>> = {
  ubd0: "umlab's root disk",
  con0: "the page's terminal",
  con1: "umlab's clock line",
  vec0: "umlab's network device",
  eth0: "umlab's network device",
};
const DEVICE = /^(ubd(?:\d+|[a-z])|con\d+|ssl\d+|eth\d+|vec\d+|mem)$/;
const DEVICES_HINT = "ubdN, conN, sslN, ethN, vecN or mem";
const LINE_COUNT: Readonly<Record<string, number>> = { ubd: 16, con: 16, ssl: 64 };

export type McParsed = { ok: true; command: McName; args: string[]; line: string } | { ok: false; message: string };

const isMcName = (word: string): word is McName => Object.hasOwn(MCONSOLE_COMMANDS, word);
const invalid = (message: string): McParsed => ({ ok: false, message });

/** ubd0 and ubda are one disk; numbers must be canonical and in range. */
function checkDevice(device: string): { ok: true; canonical: string } | { ok: false; message: string } {
  const m = /^(ubd|con|ssl|eth|vec|mem)(.*)$/.exec(device);
  if (!m?.[1] || !DEVICE.test(device)) return { ok: false, message: `"${device}" is not a UML device; use ${DEVICES_HINT}.` };
  const [, family, unit = ""] = m;
  if (unit === "") return { ok: true, canonical: device };
  if (/^\d/.test(unit) && !/^(0|[1-9]\d*)$/.test(unit)) return { ok: false, message: `"${device}": write the device number without leading zeros.` };
  const n = /^\d/.test(unit) ? Number(unit) : unit.charCodeAt(0) - 0x61;
  const count = LINE_COUNT[family];
  if (count !== undefined && n >= count) return { ok: false, message: `"${device}": UML has ${family}0 to ${family}${count - 1} only.` };
  return { ok: true, canonical: `${family}${n}` };
}

/** The device a config argument names: ubdN before its flags, vecN before its ":", else before "=". */
function configDevice(arg: string): string {
  const named = /^(ubd(?:\d+|[a-z]))[a-z]*=/.exec(arg) ?? /^(vec\d+):/.exec(arg) ?? /^([^=]*)/.exec(arg);
  return named?.[1] ?? arg;
}

function checkConfig(arg: string): string | undefined {
  const device = configDevice(arg);
  if (device === "con" || device === "ssl") return `mconsole cannot configure all ${device === "con" ? "consoles" : "serial lines"} at once; name one, e.g. ${device}2=pts.`;
  const checked = checkDevice(device);
  if (!checked.ok) return checked.message;
  // A query (no setting) is harmless, whatever the device.
  if (arg === device) return undefined;
  const managed = MANAGED_DEVICES[checked.canonical];
  if (managed) return `${checked.canonical} is ${managed}, which umlab set up; configure another device.`;
  if (device === "mem") {
    return /^mem=[+-]\d+[kKmMgG]?$/.test(arg) ? undefined : `\`${arg}\`: mconsole changes memory by an amount, e.g. mem=-16M (give to the host) or mem=+16M (take back).`;
  }
  const option = checkUmlDeviceOption(arg);
  return option && !option.ok ? option.message : undefined;
}

/** Checks one mconsole command line as the page or CLI typed it; `line` is what to hand uml_mconsole. */
export function parseMconsoleCommand(line: string): McParsed {
  for (const ch of line) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f) return invalid("An mconsole command is one line without control characters (no newlines or tabs).");
    if (code > 0x7e) return invalid(`An mconsole command is plain ASCII; "${ch}" is not.`);
  }
  const words = line.trim().split(/ +/).filter((w) => w !== "");
  const [word, ...args] = words;
  if (word === undefined) return invalid(`Type an mconsole command: ${Object.keys(MCONSOLE_COMMANDS).join(", ")}.`);
  const normalized = words.join(" ");
  if (normalized.length > MAX_MCONSOLE_LINE) return invalid(`The command has ${normalized.length} characters; UML takes at most ${MAX_MCONSOLE_LINE}.`);
  if (!isMcName(word)) {
    if (LOCAL_COMMANDS.has(word)) return invalid(`"${word}" is a command of uml_mconsole's interactive prompt, not of UML; umlab sends one command to UML at a time.`);
    if (isMcName(word.toLowerCase())) return invalid(`mconsole commands are lower-case: type "${word.toLowerCase()}".`);
    return invalid(`"${word}" is not an mconsole command; the commands are ${Object.keys(MCONSOLE_COMMANDS).join(", ")}.`);
  }
  const spec = MCONSOLE_COMMANDS[word];
  const ok = (finalArgs: string[]): McParsed => ({ ok: true, command: word, args: finalArgs, line: [word, ...finalArgs].join(" ") });
  const single = args.length === 1 ? args[0] : undefined;
  switch (spec.argument) {
    case "none":
      return args.length === 0 ? ok([]) : invalid(`"${word}" takes no arguments.`);
    case "sysrq-key": {
      if (single === undefined || !/^[0-9a-z]$/.test(single)) return invalid(`sysrq takes one key, a lower-case letter or a digit, e.g. "sysrq m" (memory) or "sysrq h" (the list).`);
      return ok([single]);
    }
    case "pid": {
      if (single === undefined || !/^[1-9]\d{0,6}$/.test(single)) return invalid(`stack takes one process ID inside UML, e.g. "stack 1".`);
      return ok([single]);
    }
    case "proc-file": {
      if (single === undefined) return invalid(`proc takes one file under UML's /proc, e.g. "proc meminfo".`);
      const relative = single.replace(/^\/proc(?=\/)/, "").replace(/^\/+/, "");
      if (relative === "" || !/^[\w.:+-]+(\/[\w.:+-]+)*$/.test(relative) || relative.split("/").includes("..")) {
        return invalid(`"${single}" is not a file under /proc; give its path there, e.g. "proc meminfo" or "proc 1/status".`);
      }
      return ok([relative]);
    }
    case "text":
      if (args.length === 0) return invalid(`log takes the text to write into UML's kernel log, e.g. "log hello".`);
      // uml_mconsole would read `log -f <file>` from a file on the host.
      if (args[0] === "-f") return invalid(`"log -f" reads a file on the host, which umlab does not offer; give the text itself.`);
      return ok(args);
    case "device": {
      if (single === undefined) return invalid(`remove takes one device, e.g. "remove ubd1"; devices are ${DEVICES_HINT}.`);
      if (single === "mem") return invalid("UML's memory cannot be removed; use \"config mem=-16M\" to give some back to the host.");
      const checked = checkDevice(single);
      if (!checked.ok) return invalid(checked.message);
      const managed = MANAGED_DEVICES[checked.canonical];
      if (managed) return invalid(`${checked.canonical} is ${managed}; umlab needs it while UML runs.`);
      return ok([single]);
    }
    case "device-config": {
      if (single === undefined) return invalid(`config takes one device setting, e.g. "config ubd1=/lab/disk.img", or a device to show, e.g. "config con0".`);
      const problem = checkConfig(single);
      return problem ? invalid(problem) : ok([single]);
    }
  }
}

export interface McReply {
  ok: boolean;
  /** UML's reply without uml_mconsole's "OK "/"ERR " prefix, or uml_mconsole's own message. */
  text: string;
}

const STATUS_LINE = /^(OK|ERR)(?: |$)/;
/** uml_mconsole appends its local commands to UML's `help`, which umlab does not offer. */
const LOCAL_HELP = "\nAdditional local mconsole commands:";

/**
 * Reads what `uml_mconsole <umid> <command>` printed (stdout and stderr): one "OK <text>" or "ERR <text>"
 * reply, or one "OK " line per chunk for `log`. Lines before the first reply are uml_mconsole's own
 * complaints (e.g. "absolutize : Can't cd to …"); without any reply the output is returned as it is.
 */
export function parseMconsoleReply(output: string): McReply {
  const lines = output.replace(/\r\n/g, "\n").split("\n");
  const first = lines.findIndex((l) => STATUS_LINE.test(l));
  if (first === -1) return { ok: false, text: output.trim() };
  const replies = lines.slice(first);
  while (replies.length > 0 && replies[replies.length - 1] === "") replies.pop();
  // `log` sends its text in chunks and a final newline, each answered by its own status line.
  if (replies.length > 1 && replies.every((l) => STATUS_LINE.test(l))) {
    const texts = replies.map((l) => l.replace(STATUS_LINE, "")).filter((t) => t !== "");
    return { ok: replies.every((l) => l.startsWith("OK")), text: texts.join("\n") };
  }
  const [status = "", ...rest] = replies;
  const ok = status.startsWith("OK");
  let text = [status.replace(STATUS_LINE, ""), ...rest].join("\n");
  const local = text.indexOf(LOCAL_HELP);
  if (local !== -1) text = text.slice(0, local);
  // `proc` starts the file on its own line after the status word.
  return { ok, text: text.replace(/^\n/, "").replace(/\s+$/, "") };
}
