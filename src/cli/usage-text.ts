/**
 * Usage lines with named placeholders: clipanion writes an option's argument as `#0`
 * (`xm migrate [-p,--port #0]`); xvm prints what to put there (`[-p,--port PORT]`). The name comes
 * from the table below, else from the option's long name (`--target` → `TARGET`), so an option a
 * plugin adds gets a readable one too.
 */
const PLACEHOLDERS: Record<string, string> = {
  "--delay": "SECONDS",
  "--iterations": "COUNT",
  "--output": "FIELDS",
  "--port": "PORT",
  "--resource": "MBITS",
  "--state": "STATE",
  "--target": "PATH",
  "--timeout": "SECONDS",
  "-e": "DCMD",
};

/** The placeholder for an option given by its names (`-p,--port`). */
export function placeholderFor(names: string): string {
  const list = names.split(",");
  for (const n of list) if (PLACEHOLDERS[n]) return PLACEHOLDERS[n]!;
  const long = list.filter((n) => n.startsWith("--")).sort((a, b) => b.length - a.length)[0];
  return long ? long.slice(2).toUpperCase().replace(/-/g, "_") : "VALUE";
}

/** `text` with every `OPTION #n` written as `OPTION NAME`. */
export function namePlaceholders(text: string): string {
  return text.replace(/(-[\w-]+(?:,-[\w-]+)*)((?: #\d+)+)/g, (_, names: string, args: string) => {
    const count = args.trim().split(" ").length;
    const name = placeholderFor(names);
    return `${names}${Array.from({ length: count }, (_, i) => ` ${name}${count > 1 ? i + 1 : ""}`).join("")}`;
  });
}
