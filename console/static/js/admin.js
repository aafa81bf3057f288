// admin.js: the coordinator's and administrator's screens.
