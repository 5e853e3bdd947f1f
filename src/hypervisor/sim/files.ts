/** The sim driver's name for the one atomic write (src/runtime/atomic-write.ts). */
export { writeFileAtomic } from "../../runtime/atomic-write.ts";
