import { afterEach, describe, expect, it } from 'vitest';
import { Celeriac } from '../../src/app/celeriac.ts';
import { uniqueName } from '../helpers/services.ts';

describe('app.configure (how CLI flags override a module app)', () => {
  const saved = process.env.CELERIAC_BROKER_URL;
  afterEach(() => {
    if (saved === undefined) delete process.env.CELERIAC_BROKER_URL;
    else process.env.CELERIAC_BROKER_URL = saved;
  });

  it('flags win over the module config and the env; undefined leaves a setting alone', () => {
    process.env.CELERIAC_BROKER_URL = 'amqp://env//';
    const app = new Celeriac({ backend: 'redis://module/1', concurrency: 3 });
    expect(app.conf.broker).toBe('amqp://env//');
    app.configure({ broker: 'memory://flag', backend: undefined });
    expect(app.conf).toMatchObject({ broker: 'memory://flag', backend: 'redis://module/1', concurrency: 3 });
    expect(Object.isFrozen(app.conf)).toBe(true);
    expect(() => app.configure({ concurrency: 0 })).toThrow(/invalid Celeriac options: concurrency/);
    expect(app.conf.concurrency).toBe(3);
  });

  it('refuses once the app has connected', async () => {
    const app = new Celeriac({ broker: `memory://${uniqueName('cfg')}` });
    await app.connection();
    expect(() => app.configure({ broker: 'memory://other' })).toThrow(/before the app connects/);
    await app.close();
  });
});
