import type { Context } from "../../platform/context.ts";
import type { Mailer } from "../../platform/mail/mailer.ts";
import type { InvitableRole } from "./schema.ts";

/** How invitations reach people: by mail when SMTP is configured, else as a link for the inviter. */
export type InvitationDelivery = { publicUrl: string; mailer: Mailer | undefined };

export type DeliveryResult = { delivery: "email" } | { delivery: "link"; acceptUrl: string };

type SentInvitation = {
  id: string;
  email: string;
  role: InvitableRole;
  workspaceName: string;
  inviterName: string;
  expiresAt: Date;
};

export function acceptUrlOf(delivery: InvitationDelivery, invitationId: string): string {
  return `${delivery.publicUrl}/invitations/${invitationId}`;
}

/**
 * Sends the invitation after it committed. A mail that fails does not undo
 * the invitation: the inviter gets the link to pass on instead, and the
 * failure is logged (code and message only: SMTP errors can quote commands).
 */
export async function deliverInvitation(
  ctx: Context,
  delivery: InvitationDelivery,
  invitation: SentInvitation,
): Promise<DeliveryResult> {
  const acceptUrl = acceptUrlOf(delivery, invitation.id);
  if (!delivery.mailer) {
    ctx.log.info({ invitationId: invitation.id, acceptUrl }, "invitation not mailed (no SMTP_URL)");
    return { delivery: "link", acceptUrl };
  }
  try {
    await delivery.mailer.send({
      to: invitation.email,
      subject: `${invitation.inviterName} invited you to ${invitation.workspaceName} on Taskpilot`,
      text: [
        `${invitation.inviterName} invited you to the workspace "${invitation.workspaceName}" as ${invitation.role}.`,
        "",
        "Accept the invitation:",
        acceptUrl,
        "",
        `Sign in with this address (${invitation.email}) to accept. The link expires on ${invitation.expiresAt.toISOString()}.`,
      ].join("\n"),
    });
    return { delivery: "email" };
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    ctx.log.error(
      { invitationId: invitation.id, code, reason: message },
      "invitation mail failed; the inviter gets the link instead",
    );
    return { delivery: "link", acceptUrl };
  }
}
