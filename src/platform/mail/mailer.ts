import { createTransport } from "nodemailer";

export type Mail = { to: string; subject: string; text: string };

/** Sends mail; `close` ends the transport's connections when the app stops. */
export type Mailer = {
  send: (mail: Mail) => Promise<void>;
  close: () => void;
};

/**
 * A mailer over SMTP (nodemailer), from an `smtp://` or `smtps://` URL that
 * may carry credentials. Timeouts are short because a caller waits for the
 * answer; nodemailer's defaults (2 to 10 minutes) would hold a request that long.
 */
export function createSmtpMailer(options: { url: string; from: string }): Mailer {
  const transport = createTransport(
    { url: options.url, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 },
    { from: options.from },
  );
  return {
    send: async (mail) => {
      await transport.sendMail(mail);
    },
    close: () => transport.close(),
  };
}
