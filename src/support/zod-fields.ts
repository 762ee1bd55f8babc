/**
 * Small zod field builders shared by the plan schema and the routers' config blocks.
 */
import { z } from 'zod';

/** A non-empty string; `what` names it in the error (`expected a file path`). */
export const nonEmpty = (what: string) => z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}` });
