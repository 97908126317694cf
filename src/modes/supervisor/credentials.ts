// Who a step runs as on this node: the uid ctld sent, and the groups this node's name service gives that user.
// The gid is the job's if the user is a member of it here, else the user's own; a request never makes one up.
import { groupsOf, userByUid, type UserEntry } from "../../core/identity";
import type { StepToD } from "../../core/generated/crane/crane";

export interface StepCredentials {
  uid: number;
  gid: number;
  /** Every group of the user, primary first (initgroups'). */
  groups: number[];
  /** undefined only for root without an account. */
  user: UserEntry | undefined;
}

export function stepCredentials(step: StepToD, node: string): StepCredentials {
  const user = userByUid(step.uid);
  if (step.uid === 0) return { uid: 0, gid: step.gid, groups: [step.gid], user };
  if (!user) throw new Error(`uid ${step.uid} has no account on node ${node} (getent passwd ${step.uid} finds nothing)`);
  const groups = groupsOf(user);
  return { uid: step.uid, gid: groups.includes(step.gid) ? step.gid : user.gid, groups, user };
}
