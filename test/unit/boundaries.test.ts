import { describe, expect, it } from '@jest/globals';
import { ESLint } from 'eslint';

/**
 * The import table of architecture.md is enforced by ESLint (eslint.config.js). These cases prove
 * the rules bite: a boundary broken in code is a red `npm test`, not a review comment.
 */
const eslint = new ESLint({ cwd: process.cwd() });

async function restrictedImportErrors(filePath: string, code: string): Promise<number> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').length;
}

describe('module boundaries', () => {
  it.each([
    ['src/policy/x.ts', "import { openDatabase } from '../store/database.js';\nexport const x = openDatabase;\n"],
    ['src/policy/x.ts', "import { parseCsr } from '../x509/csr.js';\nexport const x = parseCsr;\n"],
    ['src/x509/x.ts', "import { getProfile } from '../policy/profiles.js';\nexport const x = getProfile;\n"],
    ['src/store/x.ts', "import { issueCertificate } from '../ca/issue.js';\nexport const x = issueCertificate;\n"],
    ['src/api/x.ts', "import { findCertificate } from '../store/certificates.js';\nexport const x = findCertificate;\n"],
    ['src/ca/x.ts', "import express from 'express';\nexport const x = express;\n"],
    ['src/ca/x.ts', "import { createPkcs11KeyStore } from '../../hsm/index.js';\nexport const x = createPkcs11KeyStore;\n"],
    ['cli/x.ts', "import { sql } from 'kysely';\nexport const x = sql;\n"],
    ['migrations/x.ts', "import { CaError } from '../src/errors.js';\nexport const x = CaError;\n"],
    ['src/domain/x.ts', "import { Kysely } from 'kysely';\nexport const x = Kysely;\n"],
  ])('refuses %s importing across its boundary', async (filePath, code) => {
    expect(await restrictedImportErrors(filePath, code)).toBe(1);
  });

  it.each([
    ['src/ca/x.ts', "import { openDatabase } from '../store/database.js';\nexport const x = openDatabase;\n"],
    ['src/context.ts', "import { createPkcs11KeyStore } from '../hsm/index.js';\nexport const x = createPkcs11KeyStore;\n"],
    ['src/x509/x.ts', "import type { Signer } from '../signing/types.js';\nexport type X = Signer;\n"],
  ])('allows %s its permitted imports', async (filePath, code) => {
    expect(await restrictedImportErrors(filePath, code)).toBe(0);
  });
});
