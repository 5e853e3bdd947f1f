/** The hello plugin's xm command, `xm hello <Domain>`; its implementation loads when it runs. */
import type { PluginCommand } from "xvm/plugin";

export const commands: PluginCommand[] = [
  {
    name: "hello",
    description: "greet a domain",
    details: "Asks xend about <Domain> (through the hello plugin's route on the control API) and greets it.",
    examples: [["Greet web1", "$0 xm hello web1"]],
    args: [{ name: "Domain" }],
    load: () => import("./xm-hello.ts"),
  },
];
