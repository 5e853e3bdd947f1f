/** `xm hello <Domain>`: one line, `Hello, web1! (domain 3, 256 MiB, running)`. */
import type { CommandRun } from "xvm/plugin";

interface Greeting {
  greeting: string;
  domid: number | null;
  memory: number;
  state: string;
}

const run: CommandRun = async ({ args }, ctx) => {
  const g = await ctx.api<Greeting>("GET", `/plugins/hello/${encodeURIComponent(args.Domain!)}`);
  const id = g.domid === null ? "not running" : `domain ${g.domid}`;
  ctx.stdout.write(`${g.greeting} (${id}, ${g.memory} MiB, ${g.state})\n`);
  return 0;
};

export default run;
