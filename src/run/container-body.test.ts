import { describe, expect, it } from 'vitest';
import { Labels } from '../labels.js';
import { pluginContainerBody } from './container-body.js';

describe('pluginContainerBody', () => {
  const spec = {
    Image: 'whatever',
    User: '65532:65532',
    Labels: { 'x.keep': '1' },
    Tty: true,
    HostConfig: { NetworkMode: 'none', ReadonlyRootfs: true, CapDrop: ['ALL'], AutoRemove: true, Memory: 1 },
  };
  const body = pluginContainerBody(spec, { runId: 'r1', plugin: 'acme.x', imageId: 'sha256:abc', ownerPid: 42 });

  it('runs the image by ID with stdio for the protocol and no TTY', () => {
    expect(body).toMatchObject({ Image: 'sha256:abc', AttachStdin: true, AttachStdout: true, AttachStderr: true, OpenStdin: true, StdinOnce: true, Tty: false });
  });

  it('keeps the spec hardening but not AutoRemove (the exit status is inspected after exit)', () => {
    expect(body.HostConfig).toEqual({ NetworkMode: 'none', ReadonlyRootfs: true, CapDrop: ['ALL'], AutoRemove: false, Memory: 1 });
    expect(body.User).toBe('65532:65532');
  });

  it('labels the container as ours, with run, plugin, image and owner', () => {
    expect(body.Labels).toMatchObject({
      'x.keep': '1',
      [Labels.managed]: 'true',
      [Labels.kind]: 'plugin',
      [Labels.run]: 'r1',
      [Labels.plugin]: 'acme.x',
      [Labels.image]: 'sha256:abc',
      [Labels.owner]: '42',
    });
  });

  it('does not change the spec it was given', () => {
    expect(spec.Tty).toBe(true);
    expect(spec.HostConfig.AutoRemove).toBe(true);
  });
});
