import type { CommandClass } from "clipanion";

// Placeholder until the domains issue lands.
export const commands: CommandClass[] = [];
