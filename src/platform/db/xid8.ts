import { sql } from "drizzle-orm";
import { customType } from "drizzle-orm/pg-core";

/** A 64-bit transaction id (Postgres `xid8`), read as its decimal text. */
export const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => "xid8" });

/** The writing transaction's id, as a column default (see docs/adr/0005). */
export const currentTransactionId = sql`pg_current_xact_id()`;
