// The UML toolkit's calls (mconsole, consoles, the share, kernels) as the panels see them: always the
// current worker, and a plain "no machine" error when there is none.
import type { EmulatorApi } from "../workers/api.ts";

type ToolkitCall = "mconsole" | "startInstance" | "stopInstance" | "openConsole" | "restartUml" | "checkCmdline" | "kernelConfig" | "uploadKernel" | "listShared" | "putShared" | "readShared" | "deleteShared";

/** The worker's toolkit calls as the page makes them: each one asynchronous. `bytes` are transferred. */
export type ToolkitApi = { [K in ToolkitCall]: (...args: Parameters<EmulatorApi[K]>) => Promise<Awaited<ReturnType<EmulatorApi[K]>>> } & {
  uml(): Promise<ReturnType<EmulatorApi["uml"]>>;
};

export const NO_MACHINE = "No machine is running: wait for the lab to boot.";

/** Forwards every call to whatever worker `current` returns at call time. */
export function currentToolkit(current: () => ToolkitApi | undefined): ToolkitApi {
  const need = (): ToolkitApi => {
    const api = current();
    if (!api) throw new Error(NO_MACHINE);
    return api;
  };
  return {
    uml: async () => current()?.uml(),
    mconsole: async (command, instance) => need().mconsole(command, instance),
    startInstance: async (options) => need().startInstance(options),
    stopInstance: async (n) => need().stopInstance(n),
    openConsole: async () => need().openConsole(),
    restartUml: async (options) => need().restartUml(options),
    checkCmdline: async (text) => need().checkCmdline(text),
    kernelConfig: async (kernel) => need().kernelConfig(kernel),
    uploadKernel: async (name, bytes) => need().uploadKernel(name, bytes),
    listShared: async () => need().listShared(),
    putShared: async (path, bytes) => need().putShared(path, bytes),
    readShared: async (path) => need().readShared(path),
    deleteShared: async (path) => need().deleteShared(path),
  };
}
