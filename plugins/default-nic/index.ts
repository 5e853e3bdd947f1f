import { definePlugin } from "../../src/plugin/contract.ts";

export default definePlugin({
  name: "default-nic",
  description: "Chooses the network interface guest vifs attach to by default.",
  properties: {
    "default-nic": {
      type: "astring",
      default: "",
      description: "Default network interface for guest domain networking; empty means the first non-legacy link of `dladm show-link`.",
    },
  },
  setup() {
    // Behaviour arrives with the host-resources issue.
  },
});
