import { definePlugin } from "../../src/plugin/contract.ts";

export default definePlugin({
  name: "enable-dump",
  description: "Writes a core dump of a domain that crashes.",
  properties: {
    "enable-dump": {
      type: "boolean",
      default: true,
      description: "Create a domain core dump in /var/xen/dump when a domain crashes.",
    },
    "dump-directory": {
      type: "astring",
      default: "/var/xen/dump",
      description: "Directory (under the state root) that receives domain crash dumps.",
    },
    "dump-limit": {
      type: "integer",
      default: 4096,
      min: 0,
      description: "Most MiB the dump directory may hold; the oldest dumps are removed beyond it (0 = no limit).",
    },
  },
  setup() {
    // Behaviour arrives with the enable-dump issue.
  },
});
