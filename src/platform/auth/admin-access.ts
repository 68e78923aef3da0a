import { createAccessControl } from "better-auth/plugins/access";
import { defaultStatements } from "better-auth/plugins/admin/access";

const access = createAccessControl(defaultStatements);

/**
 * better-auth admin plugin settings. A system admin may list and look up
 * users, ban and unban them, and end their sessions; nothing that would let
 * them act as someone else or read other people's data: no impersonation, no
 * setting passwords or emails, no listing session tokens, no creating or
 * deleting users, no changing roles (promotion is the `npm run admin` CLI).
 * Workspace content is reached only through the audited support access
 * (`POST /v1/admin/workspaces/{id}/support-access`).
 */
export const adminAccess = {
  ac: access,
  roles: {
    admin: access.newRole({ user: ["list", "get", "ban"], session: ["revoke"] }),
    user: access.newRole({ user: [], session: [] }),
  },
  adminRoles: ["admin"],
  defaultRole: "user",
};
