"""Running Caption Lab for a whole class: Redis, several app servers, RQ workers, nginx in front."""
