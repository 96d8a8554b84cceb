// Fills in where to go after the login and says why the last try failed.
(function () {
  'use strict';
  var params = new URLSearchParams(location.search);
  var next = params.get('next');
  if (next) {
    document.getElementById('next').value = next;
  }
  var messages = {
    missing: 'Enter a token.',
    wrong: 'That token is not one of this instance\u2019s tokens.'
  };
  var error = params.get('error');
  if (error) {
    document.getElementById('login-error').textContent = messages[error] || 'Logging in failed.';
  }
})();
