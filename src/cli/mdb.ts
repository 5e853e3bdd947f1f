import type { CommandClass } from "clipanion";

// Placeholder until this area's issue lands.
export const commands: CommandClass[] = [];
