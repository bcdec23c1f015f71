// mqtt 5.16 ships its browser build as dist/mqtt.esm.js (a single default export with the same
// API as the Node entry) but no typings for that path.
declare module 'mqtt/dist/mqtt.esm' {
  import type * as mqtt from 'mqtt';
  const browserMqtt: typeof mqtt;
  export default browserMqtt;
}
