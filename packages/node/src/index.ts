// The transport package installs the Promise.withResolvers polyfill libp2p needs on Node 20;
// importing it first keeps that true for every program that imports this package.
import '@roomring/transport-libp2p';

export * from '@roomring/core';
export { generateClusterKey, generatePrivateKey } from '@roomring/transport-libp2p';
export { createRegistryNode, RegistryNode, type RegistryNodeInit } from './registry-node.js';
export { createRealRuntime } from './runtime.js';
