"""camdrift.agent.mqtt: the MQTT sink (paho-mqtt 2.x) that publishes camdrift messages from the durable outbox."""
